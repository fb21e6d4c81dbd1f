// Package auth authenticates the server's clients with bearer tokens: the tokens of a
// tokens file (one a line, "TOKEN SCOPES [NAME]", re-read when it changes) and HS256 JWTs
// signed with a key file (exp required, the scopes in the space-separated "scope" claim).
//
// Scopes are read (lists, gets, streams), write (read and every change) and cell:ID (act
// only as cell ID). The package says who a request is (Authenticate) and tells an open
// stream when its credentials end (Watch): a JWT at its expiry, a file token when it is
// removed from the file or its scopes change. What each scope may call is decided by the
// HTTP layer (internal/api).
//
// # Goroutines and concurrency
//
// An Authenticator is safe for concurrent use. Run re-reads the tokens file every
// Config.Reload until its context ends; the caller owns that goroutine. Watch arms a timer
// for a JWT's expiry (its own goroutine when it fires) and returns a stop function that
// the stream calls when it ends. No callback is called with a lock held.
package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/openbbs/bbs/models"
)

// Sentinel errors.
var (
	// ErrNoCredentials is returned by Authenticate for a request without a token: 401.
	ErrNoCredentials = errors.New("auth: no credentials")
	// ErrBadCredentials is returned by Authenticate for a token that is not valid (unknown,
	// bad signature, expired, malformed): 401.
	ErrBadCredentials = errors.New("auth: bad credentials")
	// ErrConfig is returned by New for a tokens or key file that cannot be used.
	ErrConfig = errors.New("auth: bad configuration")
)

// Reasons a stream's credentials ended, as sent in stream_end.
const (
	ReasonTokenExpired = "token_expired"
	ReasonUnauthorized = "unauthorized"
)

// Scopes is what a principal may do.
type Scopes struct {
	Read, Write bool
	// Cell is the cell a cell:ID credential acts as ("" for none).
	Cell string
}

// ParseScopes reads a list of scopes separated by sep.
func ParseScopes(list, sep string) (Scopes, error) {
	var s Scopes
	for item := range strings.SplitSeq(list, sep) {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case item == "read":
			s.Read = true
		case item == "write":
			s.Read, s.Write = true, true
		case strings.HasPrefix(item, "cell:"):
			id := strings.TrimPrefix(item, "cell:")
			if !models.ValidGuid(id) {
				return s, fmt.Errorf("scope %q: the cell id must match ^[a-zA-Z0-9_-]+$", item)
			}
			if s.Cell != "" && s.Cell != id {
				return s, fmt.Errorf("scopes name two cells (%s, %s)", s.Cell, id)
			}
			s.Cell = id
		default:
			return s, fmt.Errorf("unknown scope %q (read, write or cell:ID)", item)
		}
	}
	if !s.Read && s.Cell == "" {
		return s, errors.New("no scope")
	}
	return s, nil
}

// Principal is who made a request.
type Principal struct {
	// Name is the token's name (tokens file) or the JWT's sub claim; may be empty.
	Name string
	Scopes
	// Expires is when the credential ends (a JWT's exp); zero for a file token.
	Expires time.Time
	// token is the file token's value ("" for a JWT): streams are revoked by it.
	token string
}

// ID identifies the principal's credential for per-client limits: a digest of a file
// token, or "jwt:" and the subject of a JWT.
func (p *Principal) ID() string {
	if p.token != "" {
		sum := sha256.Sum256([]byte(p.token))
		return fmt.Sprintf("token:%x", sum[:8])
	}
	return "jwt:" + p.Name
}

// Config configures an Authenticator. Zero fields are documented.
type Config struct {
	// TokensFile is the path of the tokens file; "" means no file tokens.
	TokensFile string
	// JWTKeyFile is the path of the HS256 key (its bytes); "" means no JWTs.
	JWTKeyFile string
	// Reload is how often Run re-reads the tokens file; 0 means 500 ms.
	Reload time.Duration
	// Logger receives reloads and their errors; nil means discard.
	Logger *slog.Logger
	// Clock is the time of expiry checks; nil means time.Now.
	Clock func() time.Time
}

type fileToken struct {
	name   string
	scopes Scopes
}

// Authenticator checks credentials. The zero value is not usable: see New.
type Authenticator struct {
	cfg    Config
	log    *slog.Logger
	jwtKey []byte

	mu      sync.Mutex
	tokens  map[string]fileToken // by token value
	digest  [32]byte             // of the file last loaded
	watches map[string]map[*watch]struct{}
}

type watch struct {
	once sync.Once
	ch   chan string
}

func (w *watch) end(reason string) { w.once.Do(func() { w.ch <- reason; close(w.ch) }) }

// New loads the configured files. With neither file configured it returns nil, nil:
// authentication is off.
func New(cfg Config) (*Authenticator, error) {
	if cfg.TokensFile == "" && cfg.JWTKeyFile == "" {
		return nil, nil
	}
	if cfg.Reload <= 0 {
		cfg.Reload = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	a := &Authenticator{cfg: cfg, log: cfg.Logger, tokens: map[string]fileToken{}, watches: map[string]map[*watch]struct{}{}}
	if cfg.JWTKeyFile != "" {
		key, err := os.ReadFile(cfg.JWTKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: reading the JWT key: %w", ErrConfig, err)
		}
		if len(bytes.TrimSpace(key)) < 16 {
			return nil, fmt.Errorf("%w: the JWT key file %s holds fewer than 16 bytes", ErrConfig, cfg.JWTKeyFile)
		}
		a.jwtKey = key
	}
	if cfg.TokensFile != "" {
		if _, err := a.reload(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// parseTokens reads a tokens file.
func parseTokens(data []byte) (map[string]fileToken, error) {
	out := map[string]fileToken{}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("line %d: want TOKEN SCOPES [NAME]", n+1)
		}
		if len(f[0]) < 16 {
			return nil, fmt.Errorf("line %d: a token must be at least 16 characters", n+1)
		}
		s, err := ParseScopes(f[1], ",")
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		if _, dup := out[f[0]]; dup {
			return nil, fmt.Errorf("line %d: the token is given twice", n+1)
		}
		t := fileToken{scopes: s}
		if len(f) == 3 {
			t.name = f[2]
		}
		out[f[0]] = t
	}
	return out, nil
}

// reload re-reads the tokens file if it changed and ends the streams of the tokens that
// were removed or whose scopes changed. A file that cannot be read or parsed is an error
// and changes nothing.
func (a *Authenticator) reload() (changed bool, err error) {
	data, err := os.ReadFile(a.cfg.TokensFile)
	if err != nil {
		return false, fmt.Errorf("%w: reading the tokens file: %w", ErrConfig, err)
	}
	sum := sha256.Sum256(data)
	a.mu.Lock()
	same := sum == a.digest && len(a.tokens) > 0
	a.mu.Unlock()
	if same {
		return false, nil
	}
	tokens, err := parseTokens(data)
	if err != nil {
		return false, fmt.Errorf("%w: tokens file %s: %w", ErrConfig, a.cfg.TokensFile, err)
	}
	var ended []*watch
	a.mu.Lock()
	for tok, old := range a.tokens {
		if nt, ok := tokens[tok]; !ok || nt.scopes != old.scopes {
			for w := range a.watches[tok] {
				ended = append(ended, w)
			}
			delete(a.watches, tok)
		}
	}
	a.tokens, a.digest = tokens, sum
	a.mu.Unlock()
	for _, w := range ended {
		w.end(ReasonUnauthorized)
	}
	return true, nil
}

// Run re-reads the tokens file every Config.Reload until ctx ends. A bad file is logged
// and the tokens stay as they were.
func (a *Authenticator) Run(ctx context.Context) {
	if a == nil || a.cfg.TokensFile == "" {
		return
	}
	t := time.NewTicker(a.cfg.Reload)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := a.reload()
		switch {
		case err != nil:
			a.log.Error("auth: the tokens file was not reloaded", "error", err)
		case changed:
			a.log.Info("auth: tokens file reloaded", "path", a.cfg.TokensFile)
		}
	}
}

// Authenticate says who made r: the bearer token of its Authorization header or, when
// allowQuery (the stream routes: a browser's EventSource cannot set headers), its
// access_token query parameter.
func (a *Authenticator) Authenticate(r *http.Request, allowQuery bool) (*Principal, error) {
	tok := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, value, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
			return nil, fmt.Errorf("%w: the Authorization header must be \"Bearer TOKEN\"", ErrBadCredentials)
		}
		tok = strings.TrimSpace(value)
	} else if allowQuery {
		tok = r.URL.Query().Get("access_token")
	}
	if tok == "" {
		return nil, ErrNoCredentials
	}
	if strings.Count(tok, ".") == 2 && a.jwtKey != nil {
		return a.parseJWT(tok)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for value, t := range a.tokens {
		if subtle.ConstantTimeCompare([]byte(value), []byte(tok)) == 1 {
			return &Principal{Name: t.name, Scopes: t.scopes, token: value}, nil
		}
	}
	return nil, fmt.Errorf("%w: unknown token", ErrBadCredentials)
}

// parseJWT checks an HS256 JWT with an exp and reads its scopes.
func (a *Authenticator) parseJWT(tok string) (*Principal, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return a.jwtKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.cfg.Clock))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCredentials, err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, fmt.Errorf("%w: exp is required", ErrBadCredentials)
	}
	scope, _ := claims["scope"].(string)
	s, err := ParseScopes(scope, " ")
	if err != nil {
		return nil, fmt.Errorf("%w: scope claim: %w", ErrBadCredentials, err)
	}
	sub, _ := claims.GetSubject()
	return &Principal{Name: sub, Scopes: s, Expires: exp.Time}, nil
}

// Watch tells a stream when p's credentials end: the channel yields ReasonTokenExpired at
// a JWT's expiry, or ReasonUnauthorized when a file token is removed or its scopes change,
// and is then closed. stop releases the watch; it is idempotent.
func (a *Authenticator) Watch(p *Principal) (ended <-chan string, stop func()) {
	w := &watch{ch: make(chan string, 1)}
	if !p.Expires.IsZero() {
		t := time.AfterFunc(p.Expires.Sub(a.cfg.Clock()), func() { w.end(ReasonTokenExpired) })
		return w.ch, func() { t.Stop() }
	}
	a.mu.Lock()
	if _, ok := a.tokens[p.token]; !ok {
		a.mu.Unlock()
		w.end(ReasonUnauthorized)
		return w.ch, func() {}
	}
	if a.watches[p.token] == nil {
		a.watches[p.token] = map[*watch]struct{}{}
	}
	a.watches[p.token][w] = struct{}{}
	a.mu.Unlock()
	return w.ch, func() {
		a.mu.Lock()
		delete(a.watches[p.token], w)
		a.mu.Unlock()
	}
}
