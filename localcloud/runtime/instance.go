package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
)

// instance is one function process. The pool hands it to up to the
// version's MaxConcurrency callers at once, each between acquire and
// release.
type instance struct {
	id          string
	version     *version
	cmd         *exec.Cmd
	addr        string      // 127.0.0.1:port
	client      *rpc.Client // event functions
	web         http.Handler
	provisioned bool
	gen         int // the version generation it runs; stale after a redeploy
	started     time.Time
	initTime    time.Duration
	// guarded by Host.mu
	lastUsed time.Time
	inflight int       // requests being served
	retired  bool      // takes no new requests; stopped when inflight reaches 0
	billedTo time.Time // while inflight > 0: the end of the busy time already billed
	exited   chan struct{}
	exitErr  error // valid once exited is closed

	rssMu     sync.Mutex
	rssAt     time.Time
	rssBytes  int64
	closeOnce sync.Once
}

// startInstance launches the function's process and waits until it
// answers: Function.Ping for event functions, a TCP connect for web
// functions. The wait is bounded by the spec's init timeout.
func (h *Host) startInstance(ctx context.Context, v *version, provisioned bool) (*instance, error) {
	spec := v.info.Spec
	if err := h.takeInitFault(v); err != nil {
		return nil, err
	}
	port, err := instancePorts.take()
	if err != nil {
		return nil, fmt.Errorf("runtime: allocate port: %w", err)
	}
	inst := &instance{
		id:          newID(),
		version:     v,
		addr:        net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		provisioned: provisioned,
		gen:         v.gen,
		exited:      make(chan struct{}),
	}
	exe := filepath.Join(spec.CodeDir, spec.Handler)
	if spec.Type == WebFunction {
		exe = filepath.Join(spec.CodeDir, "scf_bootstrap")
	}
	// Every SCF instance has a /tmp of its own: instances of one function
	// must not see each other's files.
	tmp, err := os.MkdirTemp("", "scfgate-instance-")
	if err != nil {
		return nil, fmt.Errorf("runtime: instance temp folder: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Dir = spec.CodeDir
	cmd.Env = h.instanceEnv(v, port, tmp)
	// Own process group so a stop reaches everything the function started;
	// Pdeathsig so instances never outlive a killed localcloud.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	logw := h.functionLog(spec, inst.id)
	cmd.Stdout = logw
	cmd.Stderr = logw
	inst.cmd = cmd

	begin := time.Now()
	inst.started = h.now()
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, &Error{Status: StatusContainerExited, Code: "ContainerStateExited",
			Message: fmt.Sprintf("start %s: %v", filepath.Base(exe), err)}
	}
	go func() {
		inst.exitErr = cmd.Wait()
		if c, ok := logw.(io.Closer); ok {
			c.Close()
		}
		_ = os.RemoveAll(tmp)
		close(inst.exited)
		h.exited(inst)
	}()

	initTimeout := spec.InitTimeout
	if initTimeout <= 0 {
		initTimeout = defaultInitTimeout
	}
	ictx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	if err := inst.waitReady(ictx, spec.Type); err != nil {
		inst.kill()
		return nil, &Error{Status: StatusContainerExited, Code: "ContainerStateExited",
			Message: fmt.Sprintf("instance %s did not become ready within %s: %v", inst.id, initTimeout, err)}
	}
	inst.initTime = time.Since(begin)
	if spec.Type == WebFunction {
		inst.web = newWebProxy(inst.addr)
	}
	return inst, nil
}

// waitReady polls until the instance answers. Polling is the only signal a
// process gives that it finished its init phase.
func (inst *instance) waitReady(ctx context.Context, typ FunctionType) error {
	const step = 2 * time.Millisecond
	for {
		select {
		case <-inst.exited:
			return fmt.Errorf("process exited during init: %v", inst.exitErr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		conn, err := net.DialTimeout("tcp", inst.addr, 100*time.Millisecond)
		if err == nil {
			if typ == WebFunction {
				conn.Close()
				return nil
			}
			client := rpc.NewClient(conn)
			var resp messages.PingResponse
			if err := client.Call("Function.Ping", &messages.PingRequest{}, &resp); err == nil {
				inst.client = client
				return nil
			}
			client.Close()
		}
		t := time.NewTimer(step)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-inst.exited:
			t.Stop()
		}
	}
}

// invoke sends one event over net/rpc and waits for the answer, the
// deadline, or the process's death, whichever comes first.
func (inst *instance) invoke(req *messages.InvokeRequest, timeout time.Duration) (*messages.InvokeResponse, error) {
	resp := new(messages.InvokeResponse)
	call := inst.client.Go("Function.Invoke", req, resp, make(chan *rpc.Call, 1))
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-call.Done:
		if call.Error != nil {
			return nil, errInstanceDied
		}
		return resp, nil
	case <-t.C:
		return nil, errTimeout
	case <-inst.exited:
		return nil, errInstanceDied
	}
}

var (
	errTimeout      = errors.New("runtime: invocation timed out")
	errInstanceDied = errors.New("runtime: instance exited")
)

// kill stops the instance's whole process group and waits for it.
func (inst *instance) kill() {
	inst.closeOnce.Do(func() {
		if inst.client != nil {
			inst.client.Close()
		}
		if inst.cmd.Process != nil {
			_ = syscall.Kill(-inst.cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	<-inst.exited
}

// exitReason describes why the instance's connection ended: the process's
// exit status once it is known, which follows the broken connection
// closely.
func (inst *instance) exitReason() string {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-inst.exited:
		if inst.exitErr != nil {
			return inst.exitErr.Error()
		}
		return "exit status 0"
	case <-t.C:
		return "connection to the instance lost"
	}
}

// alive reports whether the process is still running.
func (inst *instance) alive() bool {
	select {
	case <-inst.exited:
		return false
	default:
		return true
	}
}

// rss returns the resident set size of the instance's process, read from
// /proc at most every rssRefresh so the hot path stays cheap.
func (inst *instance) rss(now time.Time) int64 {
	const rssRefresh = time.Second
	inst.rssMu.Lock()
	defer inst.rssMu.Unlock()
	if !inst.rssAt.IsZero() && now.Sub(inst.rssAt) < rssRefresh {
		return inst.rssBytes
	}
	inst.rssAt = now
	if b, err := readRSS(inst.cmd.Process.Pid); err == nil {
		inst.rssBytes = b
	}
	return inst.rssBytes
}

// readRSS reads VmRSS of a process from /proc (Linux). Elsewhere it fails
// and memory metrics stay empty.
func readRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				break
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("runtime: VmRSS not found")
}

// instancePorts hands out the ports instances listen on (SCF's 9000,
// one per instance locally). They come from below the ephemeral range the
// system picks outgoing connections' ports from (ip_local_port_range,
// 32768-60999 on Linux): a port found free there cannot be taken by an
// outgoing connection between the check and the instance's own bind,
// which under load happens to a port found by listening on :0, and the
// instance then fails its init with "address already in use". Ports are
// handed out in turn from a random start, so that a port just released is
// not handed out again at once and two localclouds rarely meet.
var instancePorts = &portAllocator{lo: 10000, hi: 32767}

type portAllocator struct {
	mu     sync.Mutex
	lo, hi int
	next   int // 0 until the first take
}

// take returns a port that was free a moment ago, or one from the
// ephemeral range when every port of the allocator's range is taken.
func (a *portAllocator) take() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next == 0 {
		a.next = a.lo + mrand.IntN(a.hi-a.lo+1)
	}
	for range a.hi - a.lo + 1 {
		p := a.next
		if a.next++; a.next > a.hi {
			a.next = a.lo
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			l.Close()
			return p, nil
		}
	}
	return freePort()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
