package main

import (
	"bufio"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/openbbs/bbs/models"
)

// printer writes the results of a command: JSON lines with --output json, else text,
// coloured only when stdout is a terminal and $NO_COLOR is not set.
type printer struct {
	w     io.Writer
	json  bool
	color bool
}

func newPrinter(w io.Writer, json bool) *printer {
	return &printer{w: w, json: json, color: !json && isTerminal(w) && os.Getenv("NO_COLOR") == ""}
}

// isTerminal reports whether w is a character device (a terminal), from its file mode.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// jsonLine writes v as one line of compact JSON.
func (p *printer) jsonLine(v any) error {
	b, err := models.Marshal(v)
	if err != nil {
		return err
	}
	_, err = p.w.Write(append(b, '\n'))
	return err
}

// rawLine writes bytes that end with a newline.
func (p *printer) rawLine(b []byte) error {
	_, err := p.w.Write(b)
	return err
}

// line writes one line of text.
func (p *printer) line(s string) error {
	_, err := io.WriteString(p.w, s+"\n")
	return err
}

// ANSI colours.
const (
	reset   = "\x1b[0m"
	bold    = "\x1b[1m"
	dim     = "\x1b[2m"
	red     = "\x1b[31m"
	green   = "\x1b[32m"
	yellow  = "\x1b[33m"
	blue    = "\x1b[34m"
	magenta = "\x1b[35m"
	cyan    = "\x1b[36m"
)

// paint wraps s in a colour when the printer colours.
func (p *printer) paint(color, s string) string {
	if !p.color || color == "" || s == "" {
		return s
	}
	return color + s + reset
}

// stateColor is the colour of a state or presence.
func stateColor(state string) string {
	switch state {
	case models.ActualLRPStateRunning, "COMPLETED":
		return green
	case models.ActualLRPStateCrashed, "SUSPECT":
		return red
	case models.ActualLRPStateUnclaimed, "PENDING", "EVACUATING":
		return yellow
	case models.ActualLRPStateClaimed, "RESOLVING":
		return cyan
	}
	return ""
}

// cell is one cell of a table, with its colour.
type cell struct {
	text  string
	color string
}

// table writes rows under a header, columns aligned on the text's width (colours do not
// count), each line without trailing blanks.
func (p *printer) table(header []string, rows [][]cell) error {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	bw := bufio.NewWriter(p.w)
	write := func(cells []cell) {
		var b strings.Builder
		for i, c := range cells {
			text := c.text
			if text == "" {
				text = "-"
			}
			if i < len(cells)-1 {
				b.WriteString(p.paint(c.color, text))
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(text)+2))
			} else {
				b.WriteString(p.paint(c.color, text))
			}
		}
		bw.WriteString(strings.TrimRight(b.String(), " ") + "\n")
	}
	head := make([]cell, len(header))
	for i, h := range header {
		head[i] = cell{text: h, color: bold}
	}
	write(head)
	for _, r := range rows {
		write(r)
	}
	return bw.Flush()
}

// plain makes cells without colour.
func plain(texts ...string) []cell {
	cells := make([]cell, len(texts))
	for i, t := range texts {
		cells[i] = cell{text: t}
	}
	return cells
}
