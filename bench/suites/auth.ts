// (d) What authenticating a user costs: 1 KiB item GET with an issued user token, against the same
// GET with the bootstrap admin token on the same server, alternating slices. Both go through the
// full path (lookup by id, constant-time hash check, expiry, user); the user's token is scoped and
// expiring and the store holds other users and tokens. Target: user ≥ 0.9 of bootstrap.
// Informational: GET /me (authentication and little else) against the public GET /health, which
// shows what authentication costs a request on its own.
import { alternate, describeLoad } from "../alternate.js";
import { measureLoad, pool } from "../http-load.js";
import { checkItem, type ItemTarget, itemGetLoad, type LoadShape, preloadItems } from "../item-load.js";
import { type Row, ratioRow, type Suite, type SuiteContext } from "../suite.js";

const POOL_SIZE = 1000;
/** Other users, each with a few tokens, so that lookups hit a table of realistic shape. */
const OTHER_USERS = 50;
const TOKENS_PER_USER = 4;

async function api<T>(t: ItemTarget, method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${t.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path} answered ${r.status}: ${await r.text()}`);
  return (await r.json()) as T;
}

async function userWithToken(admin: ItemTarget, name: string, opts: object): Promise<string> {
  await api(admin, "POST", "/users", { name, role: "user" });
  return (await api<{ token: string }>(admin, "POST", `/users/${name}/tokens`, opts)).token;
}

const suite: Suite = {
  name: "auth",
  order: 15,
  defaultOn: true,
  description: "1 KiB item GET with a user token vs the bootstrap token on the same server",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const server = await ctx.startSse("auth-get");
    let result: Awaited<ReturnType<typeof alternate>>;
    let bare: Awaited<ReturnType<typeof alternate>>;
    try {
      const admin: ItemTarget = { url: server.url, token: server.token };
      ctx.log(`auth: creating ${OTHER_USERS} users with ${TOKENS_PER_USER} tokens each`);
      await pool(
        Array.from({ length: OTHER_USERS }, (_, i) => i),
        4,
        async (i) => {
          await userWithToken(admin, `other-${i}`, {});
          for (let k = 1; k < TOKENS_PER_USER; k++)
            await api(admin, "POST", `/users/other-${i}/tokens`, { label: `t${k}` });
        },
      );
      const user: ItemTarget = {
        url: server.url,
        token: await userWithToken(admin, "bench", {
          scopes: ["read"],
          expiresInSeconds: 24 * 3600,
          label: "bench",
        }),
      };
      // The read-only token cannot POST: the items are written with a second token of the user.
      const writer: ItemTarget = {
        url: server.url,
        token: (await api<{ token: string }>(admin, "POST", "/users/bench/tokens", { scopes: ["write"] }))
          .token,
      };
      ctx.log(`auth: preloading ${POOL_SIZE} items for the admin and for the user`);
      const adminIds = await preloadItems(admin, POOL_SIZE);
      const userIds = await preloadItems(writer, POOL_SIZE);
      await checkItem(admin, adminIds[0]!);
      await checkItem(user, userIds[0]!);
      result = await alternate(
        ctx,
        "auth: item GET",
        { target: admin, pid: server.pid, run: (t, sh) => itemGetLoad(t, adminIds, sh) },
        { target: user, pid: server.pid, run: (t, sh) => itemGetLoad(t, userIds, sh) },
      );
      const probe = (path: string, token?: string) => (t: ItemTarget, sh: LoadShape) =>
        measureLoad({
          url: t.url,
          method: "GET",
          path,
          ...sh,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
      bare = await alternate(
        ctx,
        "auth: GET /health vs GET /me",
        { target: admin, pid: server.pid, run: probe("/health") },
        { target: user, pid: server.pid, run: probe("/me", user.token) },
      );
    } finally {
      await server.stop();
    }
    const [boot, usr] = result;
    const [health, me] = bare;
    ctx.detail("auth", {
      poolSize: POOL_SIZE,
      otherUsers: OTHER_USERS,
      tokensPerUser: TOKENS_PER_USER,
      bootstrap: boot,
      user: usr,
    });
    return [
      ratioRow({
        suite: "auth",
        figure: "item GET, user token",
        value: usr.rps,
        unit: "req/s",
        baseline: { label: "item GET, bootstrap token", value: boot.rps },
        target: { op: ">=", value: 0.9 },
        otherLoad: Math.max(boot.otherCores, usr.otherCores),
        note: `user: ${describeLoad(usr)} | bootstrap: ${describeLoad(boot)}`,
      }),
      ratioRow({
        suite: "auth",
        figure: "GET /me, user token",
        value: me.rps,
        unit: "req/s",
        baseline: { label: "GET /health, no token", value: health.rps },
        otherLoad: Math.max(health.otherCores, me.otherCores),
        note: `authentication alone; /me: ${describeLoad(me)} | /health: ${describeLoad(health)}`,
      }),
    ];
  },
};

export default suite;
