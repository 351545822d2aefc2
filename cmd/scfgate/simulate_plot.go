package main

import (
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/scfgate/scfgate/sim"
)

// writeSimPlots draws simulate.png and simulate.svg in dir: a row per
// policy, with the arrival rate and the provisioned and busy instances on
// the left and the p99 latency of each minute on the right.
func writeSimPlots(dir string, rs []sim.Result) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([][]*plot.Plot, len(rs))
	for i, r := range rs {
		qps := make(plotter.XYs, len(r.Minutes))
		prov := make(plotter.XYs, len(r.Minutes))
		busy := make(plotter.XYs, len(r.Minutes))
		p99 := make(plotter.XYs, len(r.Minutes))
		for j, m := range r.Minutes {
			h := float64(m.Minute) / 60
			qps[j] = plotter.XY{X: h, Y: float64(m.Arrivals) / 60}
			prov[j] = plotter.XY{X: h, Y: m.AllocMean}
			busy[j] = plotter.XY{X: h, Y: m.BusyMean}
			p99[j] = plotter.XY{X: h, Y: m.P99Ms / 1000}
		}
		load := plot.New()
		load.Title.Text = r.Policy + ": traffic and instances"
		load.X.Label.Text = "hour"
		load.Y.Label.Text = "req/s; instances"
		for k, s := range []struct {
			name string
			xy   plotter.XYs
		}{{"arrivals (req/s)", qps}, {"started instances", prov}, {"busy instances", busy}} {
			l, err := plotter.NewLine(s.xy)
			if err != nil {
				return err
			}
			l.Color = plotutil.Color(k)
			load.Add(l)
			load.Legend.Add(s.name, l)
		}
		load.Legend.Top = true
		lat := plot.New()
		lat.Title.Text = r.Policy + ": p99 latency per minute"
		lat.X.Label.Text = "hour"
		lat.Y.Label.Text = "s"
		l, err := plotter.NewLine(p99)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(3)
		lat.Add(l)
		rows[i] = []*plot.Plot{load, lat}
	}
	for _, format := range []string{"png", "svg"} {
		c, err := draw.NewFormattedCanvas(14*vg.Inch, vg.Length(len(rs))*3*vg.Inch, format)
		if err != nil {
			return err
		}
		tiles := draw.Tiles{Rows: len(rs), Cols: 2, PadX: 6 * vg.Millimeter, PadY: 6 * vg.Millimeter,
			PadTop: 3 * vg.Millimeter, PadBottom: 3 * vg.Millimeter, PadLeft: 3 * vg.Millimeter, PadRight: 3 * vg.Millimeter}
		canvases := plot.Align(rows, tiles, draw.New(c))
		for i := range rows {
			for j := range rows[i] {
				rows[i][j].Draw(canvases[i][j])
			}
		}
		path := filepath.Join(dir, "simulate."+format)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(f); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// writeParetoPlot draws pareto.png and pareto.svg in dir: each policy's
// cost over the oracle's against its cold-start share, the trade-off a
// policy picks; the oracle sits at (0, 1).
func writeParetoPlot(dir string, rs []sim.Result) error {
	p := plot.New()
	p.Title.Text = "cost vs cold starts (lower left is better)"
	p.X.Label.Text = "cold-start share of requests (%)"
	p.Y.Label.Text = "cost / oracle's"
	for i, r := range rs {
		if r.CostVsOracle == 0 {
			continue
		}
		s, err := plotter.NewScatter(plotter.XYs{{X: 100 * r.ColdStartShare, Y: r.CostVsOracle}})
		if err != nil {
			return err
		}
		s.Color = plotutil.Color(i)
		s.Shape = plotutil.Shape(i)
		s.Radius = vg.Points(4)
		p.Add(s)
		p.Legend.Add(r.Policy, s)
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: 100 * r.ColdStartShare, Y: r.CostVsOracle}}, Labels: []string{" " + r.Policy}})
		if err != nil {
			return err
		}
		p.Add(labels)
	}
	p.Legend.Top = true
	for _, format := range []string{"png", "svg"} {
		path := filepath.Join(dir, "pareto."+format)
		if err := p.Save(7*vg.Inch, 5*vg.Inch, path); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}
