package preload

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	cos "github.com/tencentyun/cos-go-sdk-v5"
)

// COSSource reads objects of a Tencent Cloud COS bucket under a prefix
// with the COS SDK: listing with GET Bucket, sizes with HEAD Object, and
// parallel ranged GET Object requests. The ETag seen by the first request
// of a file pins the object: a range answered with another ETag (the
// object was replaced mid-load) fails the load.
type COSSource struct {
	client *cos.Client
	prefix string
	etags  etagPins
}

var _ Source = (*COSSource)(nil)

// NewCOSSource returns a source for the objects under prefix in the
// bucket at bucketURL (https://<bucket>-<appid>.cos.<region>.myqcloud.com).
// hc sends the requests; nil means a client signing with no credentials
// (a public-read bucket). Use cos.AuthorizationTransport to sign.
func NewCOSSource(bucketURL, prefix string, hc *http.Client) (*COSSource, error) {
	u, err := url.Parse(bucketURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("preload: COS bucket URL %q: want https://<bucket>.cos.<region>.myqcloud.com", bucketURL)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	c := cos.NewClient(&cos.BaseURL{BucketURL: u}, hc)
	c.Conf.RetryOpt.Count = 1 // one attempt: the plan's caller decides about retries
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &COSSource{client: c, prefix: prefix}, nil
}

// List pages through GET Bucket under the prefix.
func (s *COSSource) List(ctx context.Context) ([]string, error) {
	var names []string
	marker := ""
	for {
		res, _, err := s.client.Bucket.Get(ctx, &cos.BucketGetOptions{Prefix: s.prefix, Marker: marker, MaxKeys: 1000})
		if err != nil {
			return nil, fmt.Errorf("preload: COS list %q: %w", s.prefix, err)
		}
		for _, o := range res.Contents {
			if name := strings.TrimPrefix(o.Key, s.prefix); name != "" && !strings.HasSuffix(name, "/") {
				names = append(names, name)
			}
		}
		if !res.IsTruncated {
			break
		}
		marker = res.NextMarker
		if marker == "" && len(res.Contents) > 0 {
			marker = res.Contents[len(res.Contents)-1].Key
		}
		if marker == "" {
			break
		}
	}
	slices.Sort(names)
	return names, nil
}

// Size sends HEAD Object and pins the object's ETag.
func (s *COSSource) Size(ctx context.Context, name string) (int64, error) {
	resp, err := s.client.Object.Head(ctx, s.prefix+name, nil)
	if err != nil {
		return 0, fmt.Errorf("HEAD %s: %w", name, err)
	}
	if err := s.etags.check(name, resp.Header.Get("ETag")); err != nil {
		return 0, err
	}
	if resp.ContentLength < 0 {
		return 0, fmt.Errorf("HEAD %s: no Content-Length", name)
	}
	return resp.ContentLength, nil
}

// ReadRange sends GET Object with a Range header and wants 206 with the
// pinned ETag.
func (s *COSSource) ReadRange(ctx context.Context, name string, off, n int64) (io.ReadCloser, error) {
	if n <= 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	rng := fmt.Sprintf("bytes=%d-%d", off, off+n-1)
	resp, err := s.client.Object.Get(ctx, s.prefix+name, &cos.ObjectGetOptions{Range: rng})
	if err != nil {
		return nil, fmt.Errorf("GET %s (Range %s): %w", name, rng, err)
	}
	if resp.StatusCode != http.StatusPartialContent {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s (Range %s): %s: %w", name, rng, resp.Status, ErrHTTPStatus)
	}
	if err := s.etags.check(name, resp.Header.Get("ETag")); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp.Body, nil
}

// etagPins remembers the first ETag seen per object.
type etagPins struct {
	mu sync.Mutex
	m  map[string]string
}

func (e *etagPins) check(name, etag string) error {
	if etag == "" {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]string{}
	}
	if prev, ok := e.m[name]; ok && prev != etag {
		return fmt.Errorf("object changed during the load: ETag %s, then %s", prev, etag)
	}
	e.m[name] = etag
	return nil
}
