package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/openbbs/bbs/internal/api"
	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/internal/store"
)

// subcommand runs `bbs backup`, `bbs restore` or `bbs version` (also `bbs --version`) when
// args start with one, and returns its exit status (0, 1 when it failed, 2 for bad
// usage); ok is false when args are the server's.
func subcommand(args []string, stdout, stderr io.Writer) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "bbs", version())
		return 0, true
	case "backup":
		return runBackup(args[1:], stdout, stderr), true
	case "restore":
		return runRestore(args[1:], stdout, stderr), true
	}
	return 0, false
}

// version is the module version the command was built from, or "devel".
func version() string { return api.Version() }

func runBackup(args []string, stdout, stderr io.Writer) int {
	path, dbURL, file, code := fileCommand("backup", args, stderr,
		"usage: bbs backup [--db URL] FILE\n\n"+
			"Copies the store at --db into the new file FILE (mode 0600), online: a server may\n"+
			"be running on it and writing. An existing FILE is never overwritten.\n\n")
	if code >= 0 {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	info, err := store.Backup(ctx, path, file)
	if err != nil {
		fmt.Fprintf(stderr, "bbs backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "backed up %s to %s: store %s, log head %d, schema version %d, %d bytes\n",
		dbURL, file, info.StoreID, info.Head, info.SchemaVersion, info.Size)
	return 0
}

func runRestore(args []string, stdout, stderr io.Writer) int {
	path, dbURL, file, code := fileCommand("restore", args, stderr,
		"usage: bbs restore [--db URL] FILE\n\n"+
			"Replaces the store at --db with the backup FILE (made by bbs backup) and gives it a\n"+
			"new store id, so that stream cursors issued before (by the replaced store or by the\n"+
			"store the backup was taken from) get stream_end cursor_expired. The server must not\n"+
			"be running on --db.\n\n")
	if code >= 0 {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	info, err := store.Restore(ctx, path, file)
	if errors.Is(err, store.ErrLocked) {
		fmt.Fprintf(stderr, "bbs restore: %s is in use, a server is running on it: stop it first (%v)\n", dbURL, err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "bbs restore: %v\n", err)
		return 1
	}
	replaced := "no store"
	if info.Replaced != "" {
		replaced = "store " + info.Replaced
	}
	fmt.Fprintf(stdout, "restored %s (store %s, log head %d) into %s, replacing %s: new store %s; "+
		"cursors issued before the restore get cursor_expired\n",
		file, info.Backup.StoreID, info.Backup.Head, dbURL, replaced, info.StoreID)
	return 0
}

// fileCommand parses `--db URL FILE` (flags before or after FILE) of a subcommand. It
// returns the SQLite path, the database URL and FILE with code -1, or the exit status
// when the command must stop there (0 after -h, 2 for bad usage).
func fileCommand(name string, args []string, stderr io.Writer, usage string) (path, dbURL, file string, code int) {
	fs := flag.NewFlagSet("bbs "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&dbURL, "db", server.DefaultDB, "database `URL` of the store: sqlite://PATH (postgres:// is not supported yet)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", "", "", 0
			}
			return "", "", "", 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "bbs %s: want one FILE, got %d\n", name, len(files))
		fs.Usage()
		return "", "", "", 2
	}
	path, err := server.ParseDB(dbURL)
	if err == nil && store.IsPostgresURL(path) {
		err = fmt.Errorf("bbs %s of a postgres:// database is not supported yet", name)
	}
	if err == nil && path == store.MemoryPath {
		err = fmt.Errorf("%s is in memory: there is no file to %s", dbURL,
			map[string]string{"backup": "back up", "restore": "restore into"}[name])
	}
	if err != nil {
		fmt.Fprintf(stderr, "bbs %s: --db: %v\n", name, err)
		return "", "", "", 2
	}
	return path, dbURL, files[0], -1
}
