// What a server command does to put TLS in front of its programs (sslserver,
// tcpsvd --tls): read the certificates from ucspi-ssl's variables before
// anything else (bind, privileges), and make the engine's TLS stage.
import type { RuleSource } from '../decide/decision';
import { type PairFiles, TlsConfigError, TlsSource, tlsFiles, verifyDepth } from './config';
import { addonPart } from '../native';
import { nativeTlsBackend } from './native';
import { nodeTlsBackend } from './node';
import type { CertRuleSource } from './rules';
import { type TlsStage, type TlsStageOptions, createTlsStage } from './stage';

export interface TlsSetup {
  clientCert: TlsStageOptions['clientCert'];
  sslEnv: boolean;
  tcpEnv: boolean;
  noEnv?: boolean;
  handshakeTimeoutMs: number;
  progTimeoutMs: number;
  alpn: string[];
  sni: PairFiles[];
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  banner?: Buffer;
  rules: RuleSource | null;
}

/**
 * The stage, or fatal(message) for a configuration that cannot serve (no
 * certificate, a file unreadable, a key that does not match). warn: the
 * command's log, for renewals that fail later.
 */
export function tlsStage(env: NodeJS.ProcessEnv, o: TlsSetup, warn: (what: string) => void, fatal: (msg: string) => never): TlsStage {
  if ((o.clientCert !== 'none' || env.CCAVERIFY || env.CCAFILE) && !env.CAFILE && !env.CCAFILE && !env.CADIR) {
    fatal('client certificates asked for (-z, -m, CCAVERIFY or CCAFILE) without CAFILE, CCAFILE or CADIR to verify them');
  }
  // Handshakes and records on the addon's threads where it has them; Node's
  // tls on the event loop without it (or with UCSPI_TLS_BACKEND=node).
  const native = process.env.UCSPI_TLS_BACKEND === 'node' ? null : nativeTlsBackend();
  const backend = native ?? nodeTlsBackend();
  const tlsPart = native ? addonPart('tls') : null;
  let source: TlsSource;
  try {
    source = new TlsSource(tlsFiles(env, o.sni), {
      verify: o.clientCert !== 'none' || env.CCAVERIFY ? 'require' : env.CCAFILE ? 'request' : 'none',
      verifyDepth: verifyDepth(env),
      ciphers: env.CIPHERS || undefined,
      minVersion: o.minVersion,
      alpn: o.alpn,
      handshakeTimeoutMs: Math.max(1, o.handshakeTimeoutMs),
    }, backend, warn);
    source.load();
  } catch (e) {
    if (e instanceof TlsConfigError) fatal(e.message);
    throw e;
  }
  const { version } = require('../../../package.json') as { version: string };
  return createTlsStage({
    backend, source,
    clientCert: o.clientCert === 'none' && env.CCAVERIFY ? 'verify' : o.clientCert,
    tcpEnv: o.tcpEnv, sslEnv: o.sslEnv, noEnv: o.noEnv,
    progTimeoutMs: o.progTimeoutMs,
    banner: o.banner,
    certRules: o.rules && 'decideKeys' in o.rules ? o.rules as unknown as CertRuleSource : undefined,
    version: `ucspi-node/${version}`,
  }, tlsPart ? () => tlsPart.socketPair() : undefined);
}
