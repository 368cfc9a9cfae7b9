// What a TLS server needs from whatever does the handshake and the record
// layer: Node's own tls (runs everywhere, on the event loop) or the addon
// (native/tls.cc: handshakes and records on its own threads). sslserver and
// the TLS stage of the engine see only this.

/** One certificate and its key, for the names it serves ('' = the default pair). */
export interface CertPair {
  /** SNI pattern: '' (default), 'a.example', or '*.example' (one label). */
  name: string;
  /** PEM: the certificate, then its chain. */
  cert: Buffer;
  /** PEM private key. Read before privileges are dropped; never given to the program. */
  key: Buffer;
}

export interface TlsServerConfig {
  pairs: CertPair[];
  /** PEM CA certificates to verify client certificates with (CAFILE / CCAFILE). */
  ca?: Buffer;
  /** 'none': no client certificate asked; 'request': asked, optional; 'require': must be given and valid. */
  verify: 'none' | 'request' | 'require';
  /** VERIFYDEPTH. */
  verifyDepth?: number;
  /** OpenSSL cipher list for TLS <= 1.2 (CIPHERS), and the TLS 1.3 suites. */
  ciphers?: string;
  ciphersuites?: string;
  /** DHFILE: PEM DH parameters for the TLS 1.2 DHE suites (ECDHE needs none). */
  dhparam?: Buffer;
  /** Lowest version offered: 'TLSv1.2' by default. */
  minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** ALPN protocols the server accepts, in its order of preference; [] = no ALPN. */
  alpn: string[];
  /** A handshake not done after this is dropped, its slot freed. */
  handshakeTimeoutMs: number;
}

/** What the handshake established: the source of PROTO=SSL's SSL_* variables. */
export interface TlsSessionInfo {
  /** 'TLSv1.3', 'TLSv1.2' ... */
  protocol: string;
  /** OpenSSL's cipher name, e.g. 'TLS_AES_256_GCM_SHA384'. */
  cipher: string;
  /** Bits used and bits of the algorithm (SSL_CIPHER_USEKEYSIZE, SSL_CIPHER_ALGKEYSIZE). */
  cipherBits: number;
  cipherAlgBits: number;
  /** Hex, upper case; '' when none. */
  sessionId: string;
  /** The SNI name the client sent, '' without one. */
  servername: string;
  /** The ALPN protocol chosen, '' without one. */
  alpn: string;
  /** The client's certificate, DER, or null. */
  peerCert: Buffer | null;
  /** X509 verify result of the client certificate: 0 = ok (or none asked). */
  verifyResult: number;
}

export interface TlsConnection {
  readonly info: TlsSessionInfo;
  /**
   * Relays between the TLS connection and fd (the program's side, a socket
   * pair end, owned from now on) until both directions have ended, then
   * calls onEnd once. End of file from the program sends close_notify.
   * idleMs (sslserver -w): nothing moving either way that long ends it.
   */
  relay(fd: number, onEnd: () => void, idleMs?: number): void;
  /** Ends the connection without a program (a rule denied it after the handshake). */
  drop(): void;
}

export interface TlsBackend {
  readonly name: 'node' | 'native';
  /**
   * Replaces the configuration from the next handshake on. Throws with a
   * message naming what is wrong (a key that does not match its certificate,
   * an unreadable PEM); the configuration in use then stays.
   */
  configure(cfg: TlsServerConfig): void;
  /** A handshake on an accepted TCP socket (owned from now on). */
  handshake(fd: number, cb: (err: Error | null, conn?: TlsConnection) => void): void;
}
