// VideoSDK's own Node server SDK (@videosdk.live/server-sdk 0.1.1), unmodified, against
// agentcloud's emulator: deploy an agent, dispatch it into a room, list the deployment's
// sessions, end the room's session, read the console logs, manage the version, and hear a
// refusal. Prints one JSON object with everything it saw, for the Python test to check.
//
// Configured the way the SDK is configured anywhere: VIDEOSDK_API_KEY, VIDEOSDK_SECRET and
// VIDEOSDK_API_ENDPOINT (agentcloud's emulator exports all three), plus the emulator's
// seeded VIDEOSDK_AGENT_ID and VIDEOSDK_RUNTIME_DEPLOYMENT_ID.
//
// The SDK has no call for a deployment's session listing, so that one goes through the
// SDK's own raw-HTTP facade (`api.get`: its auth, retries and errors) and its own `paginate`.
"use strict";

const { VideoSDK, paginate } = require("@videosdk.live/server-sdk");

async function collect(page) {
  const items = [];
  for await (const item of page) items.push(item);
  return items;
}

async function refusal(call) {
  try {
    await call();
  } catch (error) {
    return { name: error.name, message: error.message, status: error.httpStatus };
  }
  return null;
}

async function main() {
  const agentId = process.env.VIDEOSDK_AGENT_ID;
  const deploymentId = process.env.VIDEOSDK_RUNTIME_DEPLOYMENT_ID;
  const client = new VideoSDK({ timeoutMs: 10000 });
  const seen = {};

  seen.room = await client.rooms.create({ customRoomId: "node-check" });
  const roomId = seen.room.roomId;
  seen.dispatch = await client.agents.dispatch({
    agentId,
    roomId,
    metadata: { from: "node" },
  });

  const sessions = (page, perPage) =>
    client.api.get(`/ai/v1/cloud/deployments/${encodeURIComponent(deploymentId)}/sessions`, {
      query: { page, perPage, roomId },
    });
  seen.sessions = await collect(await paginate(sessions, { perPage: 10 }, { dataKey: "sessions" }));
  seen.ended = await client.sessions.end({ roomId });
  seen.logs = await collect(
    await client.agents.deployment.logs(deploymentId, {
      sessionId: seen.sessions.length ? seen.sessions[0].sessionId : undefined,
      sort: "1",
    })
  );

  seen.latest = await client.agents.deployment.getLatestVersion(deploymentId);
  seen.deployment = await client.agents.deployment.get(deploymentId);
  seen.deployed = await client.agents.deploy({
    name: "node-deployed",
    image: "ghcr.io/acme/node-agent:1",
    scaling: { min: 0, max: 3 },
  });
  seen.deactivated = await client.agents.deployment.setVersionActive(
    seen.deployed.version.id,
    false,
    { force: true }
  );
  seen.reactivated = await client.agents.deployment.setVersionActive(seen.deployed.version.id, true);
  seen.listed = await collect(
    await client.agents.deployment.list({ agentId: seen.deployed.agentId })
  );
  seen.deleted = await client.agents.deployment.delete(seen.deployed.id, { force: true });

  seen.refusal = await refusal(() => client.agents.dispatch({ agentId: "nobody-runs-this", roomId }));
  seen.unknownRoom = await refusal(() => client.sessions.end({ roomId: "no-such-room" }));
  seen.publicKey = await client.webhooks.getPublicKey();

  process.stdout.write(JSON.stringify(seen) + "\n");
}

main().catch((error) => {
  process.stderr.write(`${error.name}: ${error.message}\n${error.stack}\n`);
  process.exit(1);
});
