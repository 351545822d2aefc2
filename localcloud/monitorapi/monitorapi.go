// Package monitorapi serves Cloud Monitor's GetMonitorData (service
// monitor, version 2018-07-24) for namespace QCE/SCF_V2 from what
// localcloud's runtime host observed.
//
// Dimensions are functionName, namespace (the international docs' typo
// "namspace" is accepted too) and either version (e.g. "$latest", matched
// case-insensitively) or alias. A version's series is every request that
// version served, whatever it was sent to; an alias's series is the
// traffic sent through that alias, whichever version served it (so the
// two versions of a weighted alias together make up the alias's
// Invocation). Neither names a version: the series of $LATEST. These
// semantics are an assumption: Tencent's metric page (248/37207) lists
// the dimensions, not how an alias's traffic is attributed. Each instance in the request gets one DataPoint carrying its
// dimensions back; periods without data are absent, as Cloud Monitor
// drops them. Assumptions where the docs are silent: StartTime defaults to
// one hour before EndTime, and times without a zone are Beijing time; an unknown function yields an empty DataPoint
// rather than an error (Cloud Monitor does not know functions, only
// series); SpecifyStatistics fills only the statistic the metric is
// aggregated with (MaxValues for ConcurrentExecutions and Mem, AvgValues
// for Duration) since no other statistic is kept.
package monitorapi

import (
	"context"
	"errors"
	"strings"
	"time"

	monitor "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor/v20180724"

	"github.com/scfgate/scfgate/localcloud/cloudapi"
	"github.com/scfgate/scfgate/localcloud/metrics"
)

// Service and Version identify the Cloud Monitor API.
const (
	Service   = "monitor"
	Version   = "2018-07-24"
	Namespace = "QCE/SCF_V2"
)

// Series is where the data comes from.
type Series interface {
	Query(k metrics.Key, metric string, period time.Duration, start, end time.Time) ([]metrics.Point, error)
}

// Resolver tells whether an alias exists (it maps it to the version it
// points at).
type Resolver interface {
	Resolve(namespace, name, qualifier string) (string, error)
}

// Register adds GetMonitorData to s. now gives the default EndTime.
func Register(s *cloudapi.Server, series Series, resolver Resolver, now func() time.Time) {
	a := &api{series: series, resolver: resolver, now: now}
	s.Handle(Service, Version, "GetMonitorData", a.getMonitorData)
}

type api struct {
	series   Series
	resolver Resolver
	now      func() time.Time
}

// maxPoints is the documented limit of points per request.
const maxPoints = 1440

const (
	statAvg = 1
	statMax = 2
	statMin = 4
)

func (a *api) getMonitorData(_ context.Context, req *cloudapi.Request) (any, error) {
	var p monitor.GetMonitorDataRequestParams
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	switch {
	case p.Namespace == nil || *p.Namespace == "":
		return nil, cloudapi.MissingParameter("Namespace")
	case p.MetricName == nil || *p.MetricName == "":
		return nil, cloudapi.MissingParameter("MetricName")
	case len(p.Instances) == 0:
		return nil, cloudapi.MissingParameter("Instances")
	}
	if *p.Namespace != Namespace {
		return nil, cloudapi.Errorf("InvalidParameterValue", "Namespace %q is not served here; only %s", *p.Namespace, Namespace)
	}
	period := uint64(300)
	if p.Period != nil {
		period = *p.Period
	}
	end := a.now()
	if p.EndTime != nil && *p.EndTime != "" {
		t, err := parseTime(*p.EndTime)
		if err != nil {
			return nil, cloudapi.Errorf("InvalidParameterValue", "EndTime %q: want a time like 2018-09-22T19:51:23+08:00", *p.EndTime)
		}
		end = t
	}
	start := end.Add(-time.Hour)
	if p.StartTime != nil && *p.StartTime != "" {
		t, err := parseTime(*p.StartTime)
		if err != nil {
			return nil, cloudapi.Errorf("InvalidParameterValue", "StartTime %q: want a time like 2018-09-22T19:51:23+08:00", *p.StartTime)
		}
		start = t
	}
	// Data can only exist up to now; a later EndTime must not report a
	// concurrency level as if it held in the future.
	if now := a.now(); end.After(now) {
		end = now
	}
	if end.Before(start) {
		return nil, cloudapi.Errorf("InvalidParameterValue", "EndTime %s is before StartTime %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	if points := uint64(end.Sub(start)/time.Second) / max(period, 1); points > maxPoints {
		return nil, cloudapi.Errorf("InvalidParameterValue", "the range %s to %s at Period %d holds %d points, over the %d-point limit of one request",
			start.Format(time.RFC3339), end.Format(time.RFC3339), period, points, maxPoints)
	}
	stats := int64(0)
	if p.SpecifyStatistics != nil {
		stats = *p.SpecifyStatistics
		if stats < 0 || stats > 7 {
			return nil, cloudapi.Errorf("InvalidParameterValue", "SpecifyStatistics must be in 0-7, got %d", stats)
		}
	}
	resp := &monitor.GetMonitorDataResponseParams{
		Period: &period, MetricName: p.MetricName, DataPoints: []*monitor.DataPoint{},
		StartTime: ptr(start.Format(time.RFC3339)), EndTime: ptr(end.Format(time.RFC3339)), Msg: ptr(""),
	}
	for i, inst := range p.Instances {
		key, known, err := a.key(i, inst)
		if err != nil {
			return nil, err
		}
		dp := &monitor.DataPoint{Dimensions: inst.Dimensions, Timestamps: []*float64{}, Values: []*float64{}}
		if known {
			points, err := a.series.Query(key, *p.MetricName, time.Duration(period)*time.Second, start, end)
			switch {
			case errors.Is(err, metrics.ErrUnknownMetric):
				return nil, cloudapi.Errorf("InvalidParameterValue", "MetricName %q is not a %s metric (known: %s)", *p.MetricName, Namespace, strings.Join(metrics.Metrics(), ", "))
			case errors.Is(err, metrics.ErrBadPeriod):
				return nil, cloudapi.Errorf("InvalidParameterValue", "Period %d is not supported for %s", period, *p.MetricName)
			case err != nil:
				return nil, err
			}
			for _, pt := range points {
				dp.Timestamps = append(dp.Timestamps, ptr(float64(pt.Time.Unix())))
				dp.Values = append(dp.Values, ptr(pt.Value))
			}
		}
		fillStatistics(dp, *p.MetricName, stats)
		resp.DataPoints = append(resp.DataPoints, dp)
	}
	return resp, nil
}

// fillStatistics copies the values into the statistic the metric is
// aggregated with, when the caller asked for it.
func fillStatistics(dp *monitor.DataPoint, metric string, stats int64) {
	switch metric {
	case "ConcurrentExecutions", "Mem":
		if stats&statMax != 0 {
			dp.MaxValues = dp.Values
		}
	case "Duration":
		if stats&statAvg != 0 {
			dp.AvgValues = dp.Values
		}
	}
	_ = statMin // min is never kept: MinValues stays empty.
}

// key turns one instance's dimensions into a series key. known is false
// when the function or alias does not exist (empty data, not an error).
func (a *api) key(i int, inst *monitor.Instance) (metrics.Key, bool, error) {
	if inst == nil {
		return metrics.Key{}, false, cloudapi.Errorf("InvalidParameterValue", "Instances.%d is empty", i)
	}
	dims := map[string]string{}
	for _, d := range inst.Dimensions {
		if d == nil || d.Name == nil || d.Value == nil {
			return metrics.Key{}, false, cloudapi.Errorf("InvalidParameterValue", "Instances.%d.Dimensions: every dimension needs Name and Value", i)
		}
		name := *d.Name
		if name == "namspace" {
			name = "namespace"
		}
		switch name {
		case "functionName", "namespace", "version", "alias":
		default:
			return metrics.Key{}, false, cloudapi.Errorf("InvalidParameterValue", "Instances.%d.Dimensions: unknown dimension %q (known: functionName, namespace, version, alias)", i, *d.Name)
		}
		dims[name] = *d.Value
	}
	fn := dims["functionName"]
	if fn == "" {
		return metrics.Key{}, false, cloudapi.Errorf("InvalidParameterValue", "Instances.%d.Dimensions: functionName is required", i)
	}
	ns := dims["namespace"]
	if ns == "" {
		ns = "default"
	}
	version := dims["version"]
	if alias := dims["alias"]; alias != "" {
		if version != "" {
			return metrics.Key{}, false, cloudapi.Errorf("InvalidParameterValue", "Instances.%d.Dimensions: give version or alias, not both", i)
		}
		if _, err := a.resolver.Resolve(ns, fn, alias); err != nil {
			return metrics.Key{}, false, nil
		}
		return metrics.Key{Namespace: ns, Function: fn, Alias: alias}, true, nil
	}
	if version == "" || strings.EqualFold(version, "$latest") {
		version = "$LATEST"
	}
	return metrics.Key{Namespace: ns, Function: fn, Version: version}, true, nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	// Tencent's consoles and APIs write zone-less times in Beijing time.
	return time.ParseInLocation(time.DateTime, s, beijing)
}

var beijing = time.FixedZone("CST", 8*3600)

func ptr[T any](v T) *T { return &v }
