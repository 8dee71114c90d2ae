// Ranking the load balancer security policies (ELBSecurityPolicy-*) so that a
// change to a weaker one is caught: first by the oldest TLS version a policy
// accepts, then by TLS 1.3 support, then by its cipher set (Res: restricted,
// Ext: extended with legacy ciphers), forward secrecy, FIPS and post-quantum
// key exchange. Names come from the Elastic Load Balancing documentation.

export interface Grade {
  /** Oldest TLS version accepted: 10 for TLS 1.0 … 13 for TLS 1.3 only. */
  minTls: number;
  tls13: boolean;
  /** Cipher set: -1 extended, 0 standard, 1 restricted. */
  ciphers: number;
  extras: number;
}

/** The grade of a policy name, or undefined for a name this table does not know. */
export function grade(name: string): Grade | undefined {
  const legacy: Record<string, Grade> = {
    'ELBSecurityPolicy-2015-05': { minTls: 10, tls13: false, ciphers: -1, extras: 0 },
    'ELBSecurityPolicy-TLS-1-0-2015-04': { minTls: 10, tls13: false, ciphers: -1, extras: 0 },
    'ELBSecurityPolicy-2016-08': { minTls: 10, tls13: false, ciphers: 0, extras: 0 },
    'ELBSecurityPolicy-FS-2018-06': { minTls: 10, tls13: false, ciphers: 0, extras: 1 },
  };
  if (name in legacy) return legacy[name];
  let match = /^ELBSecurityPolicy-TLS13-1-([0-3])-(.*)$/.exec(name);
  if (match) {
    const rest = match[2];
    const ciphers = /(^|-)Res(-|$)/.test(rest) ? 1 : /(^|-)Ext[0-9]*(-|$)/.test(rest) ? -1 : 0;
    const extras = (/(^|-)Ext2(-|$)/.test(rest) ? -1 : 0) + (/(^|-)FIPS(-|$)/.test(rest) ? 1 : 0) + (/(^|-)PQ(-|$)/.test(rest) ? 1 : 0);
    return { minTls: 10 + Number(match[1]), tls13: true, ciphers, extras };
  }
  match = /^ELBSecurityPolicy-FS-1-([12])-(Res-)?\d{4}-\d{2}$/.exec(name);
  if (match) return { minTls: 10 + Number(match[1]), tls13: false, ciphers: match[2] ? 1 : 0, extras: 1 };
  match = /^ELBSecurityPolicy-TLS-1-([12])-(Ext-)?\d{4}-\d{2}$/.exec(name);
  if (match) return { minTls: 10 + Number(match[1]), tls13: false, ciphers: match[2] ? -1 : 0, extras: 0 };
  return undefined;
}

/** Negative when a is weaker than b. */
export function compare(a: Grade, b: Grade): number {
  return a.minTls - b.minTls || Number(a.tls13) - Number(b.tls13) || a.ciphers - b.ciphers || a.extras - b.extras;
}

/** AWS applies this one to an HTTPS listener whose ssl_policy is left out. */
export const DEFAULT_POLICY = 'ELBSecurityPolicy-2016-08';
