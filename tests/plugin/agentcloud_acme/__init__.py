"""A provider published outside agentcloud: "acme", registered by an entry point.

The whole of it is this package (a client module and an emulator module) and its entry
point in ``agentcloud.providers``; nothing in agentcloud names it.
"""

from agentcloud.providers import ProviderInfo

PROVIDER = ProviderInfo(
    name="acme",
    title="Acme Agents",
    module="agentcloud_acme.client",
    client="AcmeCloud",
    exports=("AcmeCloud", "AcmeSession"),
    emulator="agentcloud_acme.emulator",
)
