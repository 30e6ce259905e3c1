// pod-replay: the §2.2 pod driven through containerd's Go ttRPC client. The requests are the
// exact messages the Bun test built (JSON with proto field names, read with gogo's jsonpb), so
// both clients replay the same fields; this file only drives the calls, looks into the
// containers with ExecProcess, and updates the ConfigMap on the host the way kubelet does.
package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gogo/protobuf/jsonpb"
	"github.com/gogo/protobuf/proto"

	pb "kataproto/grpc"
)

type podFile struct {
	Sandbox   json.RawMessage `json:"sandbox"`
	Pause     json.RawMessage `json:"pause"`
	App       json.RawMessage `json:"app"`
	ConfigMap string          `json:"configMap"`
	Ephemeral string          `json:"ephemeral"`
}

func decodeInto(raw json.RawMessage, m proto.Message) error {
	return jsonpb.Unmarshal(bytes.NewReader(raw), m)
}

var podExecSeq = 0

// podExec runs sh -c script in the container and returns its stdout.
func podExec(agent pb.AgentServiceService, cid, script string) (string, error) {
	podExecSeq++
	id := "go-exec-" + string(rune('a'+podExecSeq%26)) + strings.Repeat("x", podExecSeq/26)
	return podExecArgs(agent, cid, id, []string{"sh", "-c", script})
}

func podExecArgs(agent pb.AgentServiceService, cid, id string, args []string) (string, error) {
	ctx, cancel := call(10 * time.Second)
	_, err := agent.ExecProcess(ctx, &pb.ExecProcessRequest{ContainerId: cid, ExecId: id, Process: &pb.Process{
		Args: args, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: "/", User: &pb.User{},
	}})
	cancel()
	if err != nil {
		return "", err
	}
	out, err := readAll(agent, cid, id, false)
	if err != nil {
		return "", err
	}
	_, err = wait(agent, cid, id)
	return string(out), err
}

// updateConfigMap is kubelet's atomic writer: a new ..<ts> dir, ..data swapped by rename, the old dir removed.
func updateConfigMap(dir, value string) error {
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	ts := "..2026_12_06_go_" + time.Now().Format("150405.000000000")
	if err := os.MkdirAll(filepath.Join(dir, ts), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ts, "greeting"), []byte(value), 0o644); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	if old != "" {
		return os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

func podReplay(agent pb.AgentServiceService, file string) {
	out := result{"scenario": "pod-replay"}
	defer emit(out)
	var f podFile
	b, err := os.ReadFile(file)
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	sandbox, pause, app := &pb.CreateSandboxRequest{}, &pb.CreateContainerRequest{}, &pb.CreateContainerRequest{}
	if err == nil {
		err = decodeInto(f.Sandbox, sandbox)
	}
	if err == nil {
		err = decodeInto(f.Pause, pause)
	}
	if err == nil {
		err = decodeInto(f.App, app)
	}
	if failed(out, "decode "+file, err) {
		return
	}
	sid, cid := pause.ContainerId, app.ContainerId
	ctx, cancel := call(30 * time.Second)
	_, err = agent.CreateSandbox(ctx, sandbox)
	cancel()
	if failed(out, "CreateSandbox", err) {
		return
	}
	ctx, cancel = call(10 * time.Second)
	details, err := agent.GetGuestDetails(ctx, &pb.GuestDetailsRequest{MemBlockSize: true, MemHotplugProbe: true})
	cancel()
	if failed(out, "GetGuestDetails", err) {
		return
	}
	out["storage_handlers"] = details.AgentDetails.StorageHandlers
	for _, c := range []*pb.CreateContainerRequest{pause, app} {
		ctx, cancel = call(30 * time.Second)
		_, err = agent.CreateContainer(ctx, c)
		cancel()
		if failed(out, "CreateContainer "+c.ContainerId, err) || failed(out, "StartContainer "+c.ContainerId, start(agent, c.ContainerId)) {
			return
		}
		if c == pause {
			ctx, cancel = call(10 * time.Second)
			_, err = agent.UpdateEphemeralMounts(ctx, &pb.UpdateEphemeralMountsRequest{})
			cancel()
			if failed(out, "UpdateEphemeralMounts", err) {
				return
			}
		}
	}
	seen, err := podExec(agent, cid, "hostname; cat /etc/resolv.conf; cat /etc/config/greeting; echo; stat -f -c %T /cache; echo from-go > /dev/shm/go-file")
	if failed(out, "exec app", err) {
		return
	}
	out["app_sees"] = seen
	shm, err := podExec(agent, sid, "cat /dev/shm/go-file")
	if failed(out, "exec pause", err) {
		return
	}
	out["pause_shm"] = strings.TrimSpace(shm)

	// inotify inside the container sees the ConfigMap change
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, e := podExecArgs(agent, cid, "go-inotify", []string{"inotifywait", "-q", "-t", "10", "-e", "create,modify,moved_to,delete", "/etc/config"})
		ch <- res{s, e}
	}()
	time.Sleep(500 * time.Millisecond)
	t0 := time.Now()
	if failed(out, "update ConfigMap", updateConfigMap(f.ConfigMap, "hello from go")) {
		return
	}
	r := <-ch
	out["inotify_ms"] = time.Since(t0).Milliseconds()
	if failed(out, "inotifywait", r.err) {
		return
	}
	out["inotify"] = r.s
	for time.Since(t0) < 5*time.Second {
		v, err := podExec(agent, cid, "cat /etc/config/greeting")
		if failed(out, "exec cat", err) {
			return
		}
		if v == "hello from go" {
			out["configmap_ms"] = time.Since(t0).Milliseconds()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	ctx, cancel = call(10 * time.Second)
	vs, err := agent.GetVolumeStats(ctx, &pb.VolumeStatsRequest{VolumeGuestPath: f.Ephemeral})
	cancel()
	if failed(out, "GetVolumeStats", err) {
		return
	}
	units := []string{}
	for _, u := range vs.Usage {
		units = append(units, u.Unit.String())
	}
	out["volume_units"] = units
	out["volume_condition"] = vs.VolumeCondition.Message

	// the shim's delete path: SIGKILL all, wait, remove, stale share mounts
	ctx, cancel = call(10 * time.Second)
	_, err = agent.SignalProcess(ctx, &pb.SignalProcessRequest{ContainerId: cid, ExecId: "", Signal: 9})
	cancel()
	if failed(out, "SignalProcess", err) {
		return
	}
	if _, err = wait(agent, cid, cid); failed(out, "WaitProcess", err) {
		return
	}
	for _, id := range []string{cid, sid} {
		ctx, cancel = call(30 * time.Second)
		_, err = agent.RemoveContainer(ctx, &pb.RemoveContainerRequest{ContainerId: id})
		cancel()
		if failed(out, "RemoveContainer "+id, err) {
			return
		}
		ctx, cancel = call(10 * time.Second)
		_, err = agent.RemoveStaleVirtiofsShareMounts(ctx, &pb.RemoveStaleVirtiofsShareMountsRequest{})
		cancel()
		if failed(out, "RemoveStaleVirtiofsShareMounts", err) {
			return
		}
	}
	ctx, cancel = call(30 * time.Second)
	_, err = agent.DestroySandbox(ctx, &pb.DestroySandboxRequest{})
	cancel()
	if failed(out, "DestroySandbox", err) {
		return
	}
	out["code"] = "OK"
}
