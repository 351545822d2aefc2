package scfapi

import (
	"context"
	"strconv"

	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/localcloud/cloudapi"
	"github.com/scfgate/scfgate/localcloud/runtime"
)

// aliasParams are the fields CreateAlias and UpdateAlias share.
type aliasParams struct {
	FunctionName, Name, FunctionVersion, Namespace, Description *string
	RoutingConfig                                               *scf.RoutingConfig
}

func (p aliasParams) alias() (runtime.Alias, error) {
	if err := requiredAll(param{"FunctionName", p.FunctionName}, param{"Name", p.Name}, param{"FunctionVersion", p.FunctionVersion}); err != nil {
		return runtime.Alias{}, err
	}
	a := runtime.Alias{Name: *p.Name, Version: *p.FunctionVersion, Description: str(p.Description, "")}
	if rc := p.RoutingConfig; rc != nil {
		for i, w := range rc.AdditionalVersionWeights {
			if w == nil || w.Version == nil || w.Weight == nil {
				return runtime.Alias{}, cloudapi.Errorf("InvalidParameter.RoutingConfig", "RoutingConfig.AdditionalVersionWeights.%d needs Version and Weight", i)
			}
			a.Weights = append(a.Weights, runtime.VersionWeight{Version: *w.Version, Weight: *w.Weight})
		}
		for i, m := range rc.AddtionVersionMatchs {
			if m == nil || m.Version == nil || m.Key == nil || m.Method == nil || m.Expression == nil {
				return runtime.Alias{}, cloudapi.Errorf("InvalidParameter.RoutingConfig", "RoutingConfig.AddtionVersionMatchs.%d needs Version, Key, Method and Expression", i)
			}
			a.Matches = append(a.Matches, runtime.VersionMatch{Version: *m.Version, Key: *m.Key, Method: *m.Method, Expression: *m.Expression})
		}
	}
	return a, nil
}

func (a *actions) createAlias(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.CreateAliasRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	al, err := aliasParams{p.FunctionName, p.Name, p.FunctionVersion, p.Namespace, p.Description, p.RoutingConfig}.alias()
	if err != nil {
		return nil, err
	}
	if err := a.host.CreateAlias(str(p.Namespace, "default"), *p.FunctionName, al); err != nil {
		return nil, hostError(err)
	}
	return &scf.CreateAliasResponseParams{}, nil
}

func (a *actions) updateAlias(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.UpdateAliasRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	al, err := aliasParams{p.FunctionName, p.Name, p.FunctionVersion, p.Namespace, p.Description, p.RoutingConfig}.alias()
	if err != nil {
		return nil, err
	}
	if err := a.host.UpdateAlias(str(p.Namespace, "default"), *p.FunctionName, al); err != nil {
		return nil, hostError(err)
	}
	return &scf.UpdateAliasResponseParams{}, nil
}

func (a *actions) getAlias(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.GetAliasRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := requiredAll(param{"FunctionName", p.FunctionName}, param{"Name", p.Name}); err != nil {
		return nil, err
	}
	al, err := a.host.GetAlias(str(p.Namespace, "default"), *p.FunctionName, *p.Name)
	if err != nil {
		return nil, hostError(err)
	}
	sa := aliasOut(al)
	return &scf.GetAliasResponseParams{FunctionVersion: sa.FunctionVersion, Name: sa.Name, RoutingConfig: sa.RoutingConfig,
		Description: sa.Description, AddTime: sa.AddTime, ModTime: sa.ModTime}, nil
}

func (a *actions) listAliases(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.ListAliasesRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := required("FunctionName", p.FunctionName); err != nil {
		return nil, err
	}
	// ListAliases types Offset and Limit as strings.
	num := func(name string, v *string) (*int64, error) {
		if v == nil || *v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(*v, 10, 64)
		if err != nil {
			return nil, cloudapi.Errorf("InvalidParameterValue."+name, "%s must be a number, got %q", name, *v)
		}
		return &n, nil
	}
	off, err := num("Offset", p.Offset)
	if err != nil {
		return nil, err
	}
	lim, err := num("Limit", p.Limit)
	if err != nil {
		return nil, err
	}
	offset, limit, err := page(off, lim)
	if err != nil {
		return nil, err
	}
	all, err := a.host.Aliases(str(p.Namespace, "default"), *p.FunctionName, str(p.FunctionVersion, ""))
	if err != nil {
		return nil, hostError(err)
	}
	resp := &scf.ListAliasesResponseParams{Aliases: []*scf.Alias{}, TotalCount: ptr(uint64(len(all)))}
	for i, al := range all {
		if i >= offset && len(resp.Aliases) < limit {
			resp.Aliases = append(resp.Aliases, aliasOut(al))
		}
	}
	return resp, nil
}

func (a *actions) deleteAlias(_ context.Context, req *cloudapi.Request) (any, error) {
	var p scf.DeleteAliasRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	if err := requiredAll(param{"FunctionName", p.FunctionName}, param{"Name", p.Name}); err != nil {
		return nil, err
	}
	if err := a.host.DeleteAlias(str(p.Namespace, "default"), *p.FunctionName, *p.Name); err != nil {
		return nil, hostError(err)
	}
	return &scf.DeleteAliasResponseParams{}, nil
}

// aliasOut is an alias as the API reports it. RoutingConfig is always
// present, with empty lists when the alias has one version.
func aliasOut(al runtime.Alias) *scf.Alias {
	rc := &scf.RoutingConfig{AdditionalVersionWeights: []*scf.VersionWeight{}, AddtionVersionMatchs: []*scf.VersionMatch{}}
	for _, w := range al.Weights {
		rc.AdditionalVersionWeights = append(rc.AdditionalVersionWeights, &scf.VersionWeight{Version: ptr(w.Version), Weight: ptr(w.Weight)})
	}
	for _, m := range al.Matches {
		rc.AddtionVersionMatchs = append(rc.AddtionVersionMatchs, &scf.VersionMatch{Version: ptr(m.Version), Key: ptr(m.Key), Method: ptr(m.Method), Expression: ptr(m.Expression)})
	}
	return &scf.Alias{
		Name: ptr(al.Name), FunctionVersion: ptr(al.Version), RoutingConfig: rc, Description: ptr(al.Description),
		AddTime: ptr(al.Added.UTC().Format(timeLayout)), ModTime: ptr(al.Modified.UTC().Format(timeLayout)),
	}
}
