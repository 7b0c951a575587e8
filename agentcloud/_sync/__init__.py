"""The machinery behind :mod:`agentcloud.sync`: a private event loop per sync client
(``_portal``), blocking twins derived from the async classes (``_twins``), blocking pagers
(``_pager``), start handles (``_started``), webhook receivers (``_webhooks``) and the
generator of the type stubs (``_stubs``). The public names live in ``agentcloud.sync``.
"""
