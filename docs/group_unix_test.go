//go:build unix

package docs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// group is the process group of a document's shell: what the shell starts stays in it (a
// non-interactive bash has no job control), so that the test can tell what is still running.
type group struct{ cmd *exec.Cmd }

func newGroup(cmd *exec.Cmd) *group {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return &group{cmd}
}

func (g *group) pgid() int {
	if g.cmd.Process == nil {
		return 0
	}
	return g.cmd.Process.Pid // the leader: Setpgid with Pgid 0
}

// kill ends whatever is left of the group.
func (g *group) kill() {
	if id := g.pgid(); id > 0 {
		_ = syscall.Kill(-id, syscall.SIGKILL)
	}
}

// waitEmpty waits up to grace for the group to have no live process, and returns the ones left
// (pid and command line).
func (g *group) waitEmpty(grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		left := g.members()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// members lists the group's live processes: from /proc where there is one (zombies, already
// dead, are left out), else whether kill(-pgid, 0) finds any.
func (g *group) members() []string {
	id := g.pgid()
	if id <= 0 {
		return nil
	}
	procs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(procs) == 0 {
		if syscall.Kill(-id, 0) == nil {
			return []string{"process group " + strconv.Itoa(id)}
		}
		return nil
	}
	var left []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
		s := string(b)
		rp := strings.LastIndexByte(s, ')')
		if rp < 0 {
			continue
		}
		f := strings.Fields(s[rp+1:])
		if len(f) < 3 || f[0] == "Z" || f[2] != strconv.Itoa(id) {
			continue
		}
		dir := filepath.Dir(p)
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		left = append(left, filepath.Base(dir)+" "+strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return left
}
