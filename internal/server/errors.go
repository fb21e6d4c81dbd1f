package server

import "errors"

var (
	// ErrKeysRequired is returned by New for a postgres:// database without encryption
	// keys: a database server has no key file beside it. Give every replica the same
	// key ring (Config.EncryptionKeys and ActiveKeyLabel).
	ErrKeysRequired = errors.New("server: a postgres:// database needs encryption keys for the secrets at rest " +
		"(--encryption-key LABEL:PASSPHRASE, the same on every replica)")
	// ErrInvalidDB is returned by New (and ParseDB) for a database URL it cannot use.
	ErrInvalidDB = errors.New("server: invalid database URL")
	// ErrAlreadyStarted is returned by Start on a server already started.
	ErrAlreadyStarted = errors.New("server: already started")
	// ErrShutDown is returned by Start on a server that was shut down.
	ErrShutDown = errors.New("server: shut down")
	// ErrInvalidTLS is returned by New when the TLS settings cannot be used: a certificate
	// without its key, a client CA without a certificate, a file that is missing or holds
	// no usable PEM. The message names the file and the flag.
	ErrInvalidTLS = errors.New("server: invalid TLS settings")
	// ErrInsecureListen is returned by New for a Listen address that is not loopback
	// without TLS, without authentication and without Config.AllowInsecure. Serve TLS,
	// configure authentication, listen on loopback, or set AllowInsecure.
	ErrInsecureListen = errors.New("server: refusing to listen beyond loopback without TLS and without authentication")
)
