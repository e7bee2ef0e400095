// Built-in addresses of Telegram's data centers, for the first connection only:
// a client then refreshes them with help.getConfig (config.dc_options) and
// follows *_MIGRATE_X. Public facts from tdlib's ConnectionCreator.cpp
// (get_default_dc_options, 2026-07-17).

export type DcEnvironment = 'production' | 'test';

export interface DcAddress {
  dcId: number;
  host: string;
  port: number;
  ipv6: boolean;
}

const PRODUCTION_IPV4: Record<number, readonly string[]> = {
  1: ['149.154.175.50'],
  2: ['149.154.167.51', '95.161.76.100'],
  3: ['149.154.175.100'],
  4: ['149.154.167.91'],
  5: ['149.154.171.5'],
};

const PRODUCTION_IPV6: Record<number, string> = {
  1: '2001:b28:f23d:f001::a',
  2: '2001:67c:4e8:f002::a',
  3: '2001:b28:f23d:f003::a',
  4: '2001:67c:4e8:f004::a',
  5: '2001:b28:f23f:f005::a',
};

// Only DCs 1..3 exist in the test environment.
const TEST_IPV4: Record<number, readonly string[]> = {
  1: ['149.154.175.10'],
  2: ['149.154.167.40'],
  3: ['149.154.175.117'],
};

const TEST_IPV6: Record<number, string> = {
  1: '2001:b28:f23d:f001::e',
  2: '2001:67c:4e8:f002::e',
  3: '2001:b28:f23d:f003::e',
};

/** The port tdlib tries first; 80 and 5222 serve too. */
export const DEFAULT_PORT = 443;

/** Every known bootstrap address of a DC, IPv4 first unless `preferIpv6`. */
export function dcAddresses(
  dcId: number,
  env: DcEnvironment = 'production',
  preferIpv6 = false,
): DcAddress[] {
  const v4 = (env === 'production' ? PRODUCTION_IPV4 : TEST_IPV4)[dcId];
  const v6 = (env === 'production' ? PRODUCTION_IPV6 : TEST_IPV6)[dcId];
  if (!v4 && !v6) throw new RangeError(`no ${env} data center ${dcId} (production has 1..5, test has 1..3)`);
  const ipv4 = (v4 ?? []).map((host) => ({ dcId, host, port: DEFAULT_PORT, ipv6: false }));
  const ipv6 = v6 ? [{ dcId, host: v6, port: DEFAULT_PORT, ipv6: true }] : [];
  return preferIpv6 ? [...ipv6, ...ipv4] : [...ipv4, ...ipv6];
}

/**
 * The dc value of p_q_inner_data_dc and of the obfuscated2 header:
 * the DC id, plus 10000 on the test servers, negative for a media DC.
 */
export function handshakeDcId(dcId: number, env: DcEnvironment = 'production', media = false): number {
  const id = env === 'test' ? dcId + 10000 : dcId;
  return media ? -id : id;
}
