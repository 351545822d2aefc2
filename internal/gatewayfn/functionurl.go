package gatewayfn

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// TriggerLister is the one SCF API call the gateway function makes itself
// (to find a backend's Function URL); deploy/cam_test.go derives the
// gateway role's policy from it.
type TriggerLister interface {
	ListTriggersWithContext(ctx context.Context, req *scf.ListTriggersRequest) (*scf.ListTriggersResponse, error)
}

// functionURLs finds Function URLs with SCF's ListTriggers: the function's
// trigger of type "http" bound to the qualifier asked for (or to none),
// its TriggerDesc read by tencentcloud.ParseFunctionURLTrigger. The
// gateway's http backend caches what it finds and asks again after a
// connection failure.
type functionURLs struct {
	region    string // the gateway's, for functions that name none
	newLister func(region string) (TriggerLister, error)

	mu      sync.Mutex
	listers map[string]TriggerLister // by region
}

var _ gateway.FunctionURLResolver = (*functionURLs)(nil)

// newFunctionURLs makes a resolver whose SDK clients sign with cred and
// call ep.
func newFunctionURLs(region string, cred common.CredentialIface, ep tencentcloud.Endpoint) *functionURLs {
	return &functionURLs{region: region, listers: map[string]TriggerLister{},
		newLister: func(region string) (TriggerLister, error) {
			prof := ep.Profile()
			prof.NetworkFailureMaxRetries = 0 // the gateway retries the request itself
			c, err := scf.NewClient(nil, region, prof)
			if err != nil {
				return nil, err
			}
			c.WithCredential(cred)
			return c, nil
		}}
}

func (f *functionURLs) lister(region string) (TriggerLister, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.listers[region]; ok {
		return l, nil
	}
	l, err := f.newLister(region)
	if err != nil {
		return nil, fmt.Errorf("scf client for %s: %w", region, err)
	}
	f.listers[region] = l
	return l, nil
}

// FunctionURL implements gateway.FunctionURLResolver.
func (f *functionURLs) FunctionURL(ctx context.Context, fn gateway.FunctionRef) (string, error) {
	region := fn.Region
	if region == "" {
		region = f.region
	}
	l, err := f.lister(region)
	if err != nil {
		return "", err
	}
	req := scf.NewListTriggersRequest()
	req.FunctionName = common.StringPtr(fn.Function)
	req.Namespace = common.StringPtr(fn.Namespace)
	req.Limit = common.Uint64Ptr(100)
	out, err := l.ListTriggersWithContext(ctx, req)
	if err != nil {
		return "", fmt.Errorf("ListTriggers: %w", err)
	}
	if out.Response == nil {
		return "", errors.New("ListTriggers: empty response")
	}
	for _, t := range out.Response.Triggers {
		if t == nil || tencentcloud.Value(t.Type) != tencentcloud.FunctionURLTriggerType {
			continue
		}
		if q := tencentcloud.Value(t.Qualifier); q != "" && q != fn.Qualifier {
			continue
		}
		desc, err := tencentcloud.ParseFunctionURLTrigger(tencentcloud.Value(t.TriggerDesc))
		if err != nil {
			return "", err
		}
		u, network := desc.InternetUrl, "internet"
		if fn.Intranet {
			u, network = desc.IntranetUrl, "intranet"
		}
		if u == "" {
			return "", fmt.Errorf("the Function URL of %s:%s has no %s address", fn.Function, fn.Qualifier, network)
		}
		return u, nil
	}
	return "", fmt.Errorf("%s:%s in %s/%s has no Function URL (a trigger of type %q)", fn.Function, fn.Qualifier,
		region, fn.Namespace, tencentcloud.FunctionURLTriggerType)
}
