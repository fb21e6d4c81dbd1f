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
	"github.com/openbbs/bbs/internal/encryption"
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
	cmd, code := fileCommand("backup", args, stderr,
		"usage: bbs backup [--db URL] FILE\n\n"+
			"Copies the store at --db (sqlite://PATH or postgres://...) into the new file FILE (mode\n"+
			"0600), online: servers may be running on it and writing. FILE is a SQLite database,\n"+
			"whatever the store, and can be restored into either kind. The secrets at rest stay\n"+
			"encrypted as stored: a SQLite store's key file is copied to FILE-key; a PostgreSQL\n"+
			"store's secrets need its key ring to be read again. An existing FILE is never\n"+
			"overwritten.\n\n")
	if code >= 0 {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	info, err := store.Backup(ctx, cmd.db, cmd.file)
	if err != nil {
		fmt.Fprintf(stderr, "bbs backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "backed up %s to %s: store %s, log head %d, schema version %d, %d bytes\n",
		store.RedactURL(cmd.dbURL), cmd.file, info.StoreID, info.Head, info.SchemaVersion, info.Size)
	if info.KeyFile == "" && info.KeyLabel != "" {
		fmt.Fprintf(stdout, "its secrets are encrypted under the key %q of the store's key ring: keep the ring, a restore needs it\n",
			info.KeyLabel)
	}
	return 0
}

func runRestore(args []string, stdout, stderr io.Writer) int {
	cmd, code := fileCommand("restore", args, stderr,
		"usage: bbs restore [--db URL] [--encryption-key LABEL:PASSPHRASE]... [--active-key-label LABEL] FILE\n\n"+
			"Replaces the store at --db (sqlite://PATH or postgres://...) with the backup FILE (made by\n"+
			"bbs backup of either kind of store) and gives it a new store id, so that stream cursors\n"+
			"issued before (by the replaced store or by the store the backup was taken from) get\n"+
			"stream_end cursor_expired. No server may be running on --db.\n\n"+
			"--encryption-key and --active-key-label are the key ring the server will be started\n"+
			"with: the backup's key check is checked against it (a wrong passphrase is refused).\n"+
			"Into postgres://, the backup's secrets are also encrypted again under its active key\n"+
			"(with the key of FILE-key, a SQLite store's key file, if there is one): a backup of a\n"+
			"SQLite store that used a key file needs them. Without them the secrets are restored\n"+
			"as they are.\n\n")
	if code >= 0 {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	info, err := store.Restore(ctx, cmd.db, cmd.file, cmd.keys)
	if errors.Is(err, store.ErrLocked) {
		fmt.Fprintf(stderr, "bbs restore: %s is in use, a server is running on it: stop it first (%v)\n", store.RedactURL(cmd.dbURL), err)
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
		cmd.file, info.Backup.StoreID, info.Backup.Head, store.RedactURL(cmd.dbURL), replaced, info.StoreID)
	if label := info.Backup.KeyLabel; cmd.keys == nil && label != "" && label != encryption.KeyFileLabel {
		fmt.Fprintf(stdout, "its secrets are encrypted under the key %q: start the server with --encryption-key %s:PASSPHRASE\n",
			label, label)
	}
	return 0
}

// fileArgs are the parsed arguments of `bbs backup` and `bbs restore`.
type fileArgs struct {
	dbURL string              // --db as given
	db    string              // the SQLite path or the postgres URL, for store.Backup and Restore
	file  string              // FILE
	keys  *encryption.KeyRing // restore's --encryption-key ring, nil without
}

// fileCommand parses `--db URL FILE` (flags before or after FILE) of a subcommand, and
// restore's key ring flags. It returns them with code -1, or the exit status when the
// command must stop there (0 after -h, 2 for bad usage).
func fileCommand(name string, args []string, stderr io.Writer, usage string) (cmd fileArgs, code int) {
	fs := flag.NewFlagSet("bbs "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cmd.dbURL, "db", server.DefaultDB, "database `URL` of the store: sqlite://PATH or postgres://...")
	var keys keyList
	var active string
	if name == "restore" {
		fs.Var(&keys, "encryption-key", "`LABEL:PASSPHRASE` of a key of the ring the server will be started with (repeatable)")
		fs.StringVar(&active, "active-key-label", "", "`label` of the active --encryption-key (needed with several)")
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return fileArgs{}, 0
			}
			return fileArgs{}, 2
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
		return fileArgs{}, 2
	}
	cmd.file = files[0]
	var err error
	cmd.db, err = server.ParseDB(cmd.dbURL)
	if err == nil && cmd.db == store.MemoryPath {
		err = fmt.Errorf("%s is in memory: there is no file to %s", cmd.dbURL,
			map[string]string{"backup": "back up", "restore": "restore into"}[name])
	}
	if err != nil {
		fmt.Fprintf(stderr, "bbs %s: --db: %v\n", name, err)
		return fileArgs{}, 2
	}
	if len(keys.keys) > 0 {
		if cmd.keys, err = encryption.ParseKeyRing(keys.keys, active); err != nil {
			fmt.Fprintf(stderr, "bbs %s: --encryption-key: %v\n", name, err)
			return fileArgs{}, 2
		}
	} else if active != "" {
		fmt.Fprintf(stderr, "bbs %s: --active-key-label %q needs --encryption-key\n", name, active)
		return fileArgs{}, 2
	}
	return cmd, -1
}
