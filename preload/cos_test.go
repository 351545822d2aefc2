package preload

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cos "github.com/tencentyun/cos-go-sdk-v5"
)

// cosServer speaks the part of the COS XML API the source uses: GET Bucket
// (prefix, marker, pages of two keys), HEAD Object and GET Object with
// Range and ETag. Requests must carry a COS signature.
type cosServer struct {
	files    map[string][]byte // object keys
	changeAt string            // this key's ETag changes after its first request
	seen     atomic.Int64
	ranges   atomic.Int64
}

func (c *cosServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Authorization"), "q-sign-algorithm=sha1") {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<Error><Code>AccessDenied</Code><Message>no signature</Message></Error>`))
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/")
	if key == "" {
		c.list(w, r)
		return
	}
	b, ok := c.files[key]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`))
		return
	}
	etag := `"` + sum(b)[:32] + `"`
	if key == c.changeAt && c.seen.Add(1) > 1 {
		etag = `"changed"`
	}
	if r.Header.Get("Range") != "" {
		c.ranges.Add(1)
	}
	w.Header().Set("ETag", etag)
	http.ServeContent(w, r, key, time.Time{}, bytes.NewReader(b))
}

func (c *cosServer) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var keys []string
	for k := range c.files {
		if strings.HasPrefix(k, q.Get("prefix")) && k > q.Get("marker") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	res := cos.BucketGetResult{Name: "models-1250000000", Prefix: q.Get("prefix"), MaxKeys: 2}
	if len(keys) > 2 {
		keys, res.IsTruncated, res.NextMarker = keys[:2], true, keys[1]
	}
	for _, k := range keys {
		res.Contents = append(res.Contents, cos.Object{Key: k, Size: int64(len(c.files[k]))})
	}
	w.Header().Set("Content-Type", "application/xml")
	xml.NewEncoder(w).Encode(res)
}

func TestCOSSource(t *testing.T) {
	_, files := modelDir(t)
	objects := map[string][]byte{"other/x.bin": []byte("not ours")}
	for name, b := range files {
		objects["hunyuan-13b/"+name] = b
	}
	srv := &cosServer{files: objects}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	signed := &http.Client{Transport: &cos.AuthorizationTransport{SecretID: "AKIDcostest", SecretKey: "cos-test-key"}}

	src, err := NewCOSSource(ts.URL, "hunyuan-13b", signed)
	if err != nil {
		t.Fatal(err)
	}
	names, err := src.List(context.Background())
	if err != nil || len(names) != len(files) || names[0] != "embedding_layer.bin" {
		t.Fatalf("list = %q, %v", names, err)
	}
	dest := t.TempDir()
	rep, err := Run(context.Background(), withSums(SeedPlan(), files), src, Options{Dest: dest, ChunkSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if got, _ := os.ReadFile(filepath.Join(dest, name)); !bytes.Equal(got, b) {
			t.Errorf("%s: copy differs", name)
		}
	}
	if srv.ranges.Load() < 10 || rep.Stages[1].Verified != 4 {
		t.Errorf("%d ranged GETs, report %+v", srv.ranges.Load(), rep.Stages)
	}

	t.Run("object replaced mid-load", func(t *testing.T) {
		changing := httptest.NewServer(&cosServer{files: objects, changeAt: "hunyuan-13b/transformer_block_3.bin"})
		defer changing.Close()
		src, _ := NewCOSSource(changing.URL, "hunyuan-13b/", signed)
		_, err := Run(context.Background(), SeedPlan(), src, Options{Dest: t.TempDir(), ChunkSize: 16 << 10})
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != "transformer_block_3.bin" || !strings.Contains(err.Error(), "ETag") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		src, _ := NewCOSSource(ts.URL, "hunyuan-13b", nil)
		if _, err := src.List(context.Background()); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("missing object", func(t *testing.T) {
		src, _ := NewCOSSource(ts.URL, "hunyuan-13b", signed)
		if _, err := src.Size(context.Background(), "nope.bin"); err == nil || !strings.Contains(err.Error(), "nope.bin") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestOpenSource(t *testing.T) {
	for spec, want := range map[string]string{
		"/mnt/cfs/model":                              "preload.DirSource",
		"https://cdn.example/m":                       "*preload.HTTPSource",
		"cos://b-125.cos.ap-guangzhou.myqcloud.com/m": "*preload.COSSource",
		"cos+http://127.0.0.1:9/m":                    "*preload.COSSource",
	} {
		src, err := OpenSource(spec, nil, COSCredentials{SecretID: "id", SecretKey: "key"})
		if got := fmt.Sprintf("%T", src); err != nil || got != want {
			t.Errorf("OpenSource(%q) = %s, %v; want %s", spec, got, err, want)
		}
	}
	if _, err := OpenSource("", nil, COSCredentials{}); err == nil {
		t.Error("empty spec accepted")
	}
}
