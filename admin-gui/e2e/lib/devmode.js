// DEV ONLY (not used by CI): until POST/GET /v1/session exist on the server, run the
// screens with an admin API key injected into the browser's API requests.
import { spawnSync } from 'node:child_process';
import { saeBin } from './harness.js';

export const DEV = process.env.SAE_E2E_DEV_APIKEY === '1';

export async function devSignIn(page, sae) {
  if (!sae.devKey) {
    const r = spawnSync(saeBin(), ['apikey', 'create', '--data-dir', sae.dir, '--name', 'dev', '--scope', 'admin'], { encoding: 'utf8' });
    sae.devKey = r.stdout.trim();
  }
  await page.context().route('**/v1/**', async (route) => {
    const req = route.request();
    if (req.url().endsWith('/v1/session') && req.method() === 'GET') {
      return route.fulfill({ json: { login: 'dev', group: 'System Administrator', system_administrator: true, csrf_token: 'x', idle_timeout_s: 900, acl: {} } });
    }
    return route.continue({ headers: { ...req.headers(), 'api-key': sae.devKey } });
  });
  await page.goto(`${sae.base}/admin/#/im`);
}
