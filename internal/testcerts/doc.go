// Package testcerts writes throwaway certificates for the tests of TLS and mutual TLS: a
// CA, a server certificate for 127.0.0.1, ::1 and localhost, a client certificate signed
// by the CA, and a client certificate signed by another CA. Only tests import it.
//
// Write makes fresh keys (ECDSA P-256) on every call; it starts no goroutine and is safe
// to call concurrently.
package testcerts
