package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// describe is the one line printed for a failed command: the server's error type and
// message, why the server could not be reached, or the error itself.
func (a *app) describe(err error) string {
	var apiErr *models.Error
	var bre *sse.BadResponseError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Type + ": " + apiErr.Message
	case errors.As(err, &bre):
		e := events.DecodeAPIError(bre.StatusCode, bre.Body)
		return e.Type + ": " + e.Message
	}
	if reason, ok := unreachable(err); ok {
		return fmt.Sprintf("cannot reach the server at %s: %s", a.url, reason)
	}
	return err.Error()
}

// unreachable says why a call got no answer, when err is such a failure.
func unreachable(err error) (string, bool) {
	var te *client.TransportError
	var ue *url.Error
	var ne net.Error
	if !errors.As(err, &te) && !errors.As(err, &ue) && !errors.As(err, &ne) {
		return "", false
	}
	var errno syscall.Errno
	var dns *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	var recordHeader tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "remote error":
		return "TLS: the server refused the connection: " + op.Err.Error(), true
	case errors.As(err, &errno):
		return errno.Error(), true
	case errors.As(err, &dns):
		return dns.Error(), true
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &certInvalid):
		return "TLS: " + innermost(err), true
	case errors.As(err, &recordHeader):
		return "TLS: the server does not speak TLS (is the URL http://?)", true
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out", true
	case errors.Is(err, context.Canceled):
		return "interrupted", true
	}
	return innermost(err), true
}

// innermost is the message of the deepest error of a chain of single wraps, without the
// prefixes of the layers above ("Post \"http://...\": dial tcp ...: ").
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return strings.TrimSpace(err.Error())
		}
		err = next
	}
}
