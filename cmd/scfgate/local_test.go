package main

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scfgate/scfgate/internal/functest"
)

func TestMain(m *testing.M) { functest.Main(m) }

// TestLocalStopsEveryProcess runs `scfgate local` on a project read from
// serverless.yml files, makes it start function instances, sends SIGINT
// or SIGTERM and checks that no function process outlives it.
func TestLocalStopsEveryProcess(t *testing.T) {
	dirs := functest.Build(t)
	bin := filepath.Join(t.TempDir(), "scfgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build scfgate: %v\n%s", err, out)
	}
	project := writeProject(t, dirs.Echo)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			fd, api := freeAddr(t), freeAddr(t)
			cmd := exec.Command(bin, "local", "--project", project, "--front-door", fd, "--api", api)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			banner := readBanner(t, stdout)
			if !strings.Contains(banner, "http://"+fd+"/echo/") || !strings.Contains(banner, "curl") {
				t.Fatalf("banner does not show the route and a curl example:\n%s", banner)
			}
			// Three concurrent requests start three instances.
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := http.Post("http://"+fd+"/echo/", "application/json", strings.NewReader(`{"action":"sleep","ms":300}`))
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Errorf("front door status %d", resp.StatusCode)
					}
				}()
			}
			wg.Wait()
			children := childPIDs(cmd.Process.Pid)
			if len(children) < 3 {
				t.Fatalf("scfgate has %d child processes, want at least 3 instances", len(children))
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("scfgate exited with %v after %v", err, sig)
			}
			for _, pid := range children {
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("instance process %d survived scfgate (kill 0: %v)", pid, err)
				}
			}
		})
	}
}

func writeProject(t *testing.T, echoDir string) string {
	t.Helper()
	root := t.TempDir()
	dist := filepath.Join(root, "echo", "dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join(echoDir, "main"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"serverless.yml": "app: orphans\nstage: dev\n",
		"echo/serverless.yml": `component: scf
name: echo
inputs:
  src:
    src: ./dist
  runtime: Go1
  handler: main
  memorySize: 128
  timeout: 10
  events:
    - http:
        parameters:
          qualifier: $DEFAULT
          authType: NONE
          netConfig:
            enableIntranet: false
            enableExtranet: true
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dist, "main"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// readBanner reads stdout up to the last banner line; the rest is drained.
func readBanner(t *testing.T, r interface{ Read([]byte) (int, error) }) string {
	t.Helper()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var b strings.Builder
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("scfgate exited before it was ready:\n%s", b.String())
			}
			b.WriteString(line + "\n")
			if strings.HasPrefix(line, "Ctrl-C") {
				go func() {
					for range lines {
					}
				}()
				return b.String()
			}
		case <-timeout:
			t.Fatalf("no banner after 30s:\n%s", b.String())
		}
	}
}

// childPIDs lists the direct children of pid from /proc.
func childPIDs(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
