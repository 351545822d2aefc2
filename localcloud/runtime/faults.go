package runtime

import (
	"fmt"
	"syscall"
)

// Fault injection: what a real SCF region does now and then, on demand,
// so that soak and resilience tests can check what callers see.

// KillInstance kills the process group of one running instance of a
// function, as a host crash or an OOM kill would: the instance serving
// the most requests (a stream, under load), provisioned or not. Its
// requests in flight break off; the instance is retired, and a
// provisioned one is replaced, as after any death. It reports the
// instance it killed, or an error when the function has no running
// instance.
func (h *Host) KillInstance(namespace, name string) (InstanceInfo, error) {
	h.mu.Lock()
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		h.mu.Unlock()
		return InstanceInfo{}, err
	}
	var victim *instance
	for _, v := range fn.versions {
		for inst := range v.all {
			if inst.retired || !inst.alive() {
				continue
			}
			if victim == nil || inst.inflight > victim.inflight || inst.inflight == victim.inflight && inst.id < victim.id {
				victim = inst
			}
		}
	}
	if victim == nil {
		h.mu.Unlock()
		return InstanceInfo{}, fmt.Errorf("runtime: function %s has no running instance to kill", name)
	}
	info := victim.info()
	h.mu.Unlock()
	if err := syscall.Kill(-info.PID, syscall.SIGKILL); err != nil {
		return InstanceInfo{}, fmt.Errorf("runtime: kill instance %s of %s: %w", info.ID, name, err)
	}
	<-victim.exited // h.exited has retired it
	h.cfg.Logger.Warn("instance killed (injected fault)", "function", name, "version", info.Version, "instance", info.ID,
		"provisioned", info.Provisioned)
	return info, nil
}

// FailInits makes the next n instance starts of a function, of any of its
// versions, fail their init as a crashing init would (status 405,
// ContainerStateExited): a request that waited for such a start gets the
// error, a provisioned start reports the version Failed. n <= 0 clears
// what is left.
func (h *Host) FailInits(namespace, name string, n int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		return err
	}
	fn.failInits = max(n, 0)
	return nil
}

// takeInitFault consumes one injected init failure of v's function.
func (h *Host) takeInitFault(v *version) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v.fn.failInits == 0 {
		return nil
	}
	v.fn.failInits--
	return &Error{Status: StatusContainerExited, Code: "ContainerStateExited",
		Message: fmt.Sprintf("instance of %s failed its init (injected fault)", v.fn.key.name)}
}

// exited retires an instance whose process ended while it was in its
// version's pool (a crash, a kill): it takes no new request, is dropped
// once idle, and a provisioned one is replaced at once rather than when
// the next request finds it dead. Instances the host stopped itself have
// already left the pool.
func (h *Host) exited(inst *instance) {
	v := inst.version
	h.mu.Lock()
	_, pooled := v.all[inst]
	if !pooled || h.closed {
		h.mu.Unlock()
		return
	}
	inst.retired = true
	replace := false
	if inst.inflight == 0 {
		delete(v.all, inst)
		replace = inst.provisioned
	}
	h.mu.Unlock()
	h.cfg.Logger.Warn("instance exited", "function", v.fn.key.name, "version", v.info.Version, "instance", inst.id,
		"error", fmt.Sprint(inst.exitErr))
	if replace {
		h.ensureProvisioned(v)
	}
}
