//! One SVG per run set (scenario and channel layout): above, every run's traffic gap per stack
//! with its median; below, one representative run per stack (the one closest to the median) as
//! a timeline of its recovery: until detected, deciding or scanning, authenticating and
//! associating, the handshake, and waiting for the first answered probe. A walk's picture is
//! its loss over time instead, per stack, with the roams marked.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use roam_testbed::{scenario::channels_label, stack::Stack};

use super::{
    figures::Milestones,
    report::{BenchReport, RunFigures, ScenarioFigures},
    table::{group, run_sets, RunSet},
    walk,
};

const WIDTH: u32 = 960;
const HEIGHT: u32 = 560;

/// Stack colours, stock first.
fn colour(stack: Stack) -> RGBColor {
    match stack {
        Stack::WpaSupplicant => RGBColor(0x99, 0x99, 0x99),
        Stack::WpaSupplicantBgscan => RGBColor(0x5f, 0x5f, 0x5f),
        Stack::Iwd => RGBColor(0x4c, 0x72, 0xb0),
        Stack::Roam | Stack::RoamNl80211 => RGBColor(0xdd, 0x84, 0x52),
        Stack::RoamNoMonitor => RGBColor(0x8c, 0x61, 0x3c),
        Stack::NetworkManager => RGBColor(0x55, 0xa8, 0x68),
        Stack::RoamNetworkManager => RGBColor(0xc4, 0x4e, 0x8a),
        Stack::Networkd => RGBColor(0x64, 0x99, 0xa8),
        Stack::RoamNetworkd => RGBColor(0xa8, 0x64, 0x3c),
    }
}

/// The recovery's phases, in order, with the colour of each.
const PHASES: [(&str, RGBColor); 5] = [
    ("until detected", RGBColor(0xc4, 0x4e, 0x52)),
    ("deciding / scanning", RGBColor(0xcc, 0xb9, 0x74)),
    ("auth + assoc", RGBColor(0x55, 0xa8, 0x68)),
    ("handshake", RGBColor(0x64, 0xb5, 0xcd)),
    ("until data flows", RGBColor(0x81, 0x72, 0xb3)),
];

/// The run closest to the set's median gap.
pub fn representative(group: &ScenarioFigures) -> Option<&RunFigures> {
    let median = group.p50_gap_ms?;
    group.runs.iter().min_by(|a, b| (a.gap_ms - median).abs().total_cmp(&(b.gap_ms - median).abs()))
}

/// (phase index, start ms, end ms) of a run's recovery; a missing milestone merges its phase
/// into the next one that is known.
pub fn segments(m: &Milestones) -> Vec<(usize, f64, f64)> {
    let ends = [m.detect_ms, m.auth_ms, m.assoc_ms, m.handshake_ms, m.first_data_ms];
    let mut out = Vec::new();
    let mut start = 0.0;
    for (phase, end) in ends.iter().enumerate() {
        if let Some(end) = *end {
            if end > start {
                out.push((phase, start, end));
                start = end;
            }
        }
    }
    out
}

/// File name of a run set's picture: `ap-deauth-1-6.svg`, `ap-deauth-ft-sae-1-6.svg`.
pub fn file_name(set: &RunSet) -> String {
    let security = roam_testbed::security::distinct_name(set.security)
        .map(|s| format!("{s}-"))
        .unwrap_or_default();
    format!("{}-{security}{}.svg", set.name, channels_label(set.channels))
}

/// Every run set's SVG, as (file name, contents): a walk's loss over time, any other
/// scenario's gaps and phases.
pub fn all(report: &BenchReport) -> Result<Vec<(String, String)>> {
    run_sets(report)
        .into_iter()
        .map(|set| {
            let (name, channels) = (set.name, set.channels);
            let groups: Vec<&ScenarioFigures> = [
                Stack::WpaSupplicant,
                Stack::WpaSupplicantBgscan,
                Stack::Iwd,
                Stack::RoamNoMonitor,
                Stack::Roam,
            ]
            .into_iter()
            .filter_map(|s| group(report, set, s))
            .collect();
            let svg = if walk::is_walk(name) {
                draw_walk(name, channels, &groups)?
            } else {
                draw(name, channels, &groups)?
            };
            Ok((file_name(&set), svg))
        })
        .collect()
}

/// The run of a walk whose probes lost are nearest the set's median.
pub fn representative_walk(group: &ScenarioFigures) -> Option<&RunFigures> {
    let median = group.p50_lost_packets?;
    group.runs.iter().min_by(|a, b| {
        (a.lost_packets as f64 - median).abs().total_cmp(&(b.lost_packets as f64 - median).abs())
    })
}

/// When a run's station completed a connection (a roam), in seconds from the trigger.
fn connections_s(run: &RunFigures) -> Vec<f64> {
    run.timeline
        .iter()
        .filter(|e| e.event == "connected" && e.t_ms > 0.0)
        .filter(|e| e.source == "wpa_supplicant" || e.source == "iwd")
        .map(|e| e.t_ms / 1e3)
        .collect()
}

/// A walk: per stack, the probes lost each half second of its median run, and its roams.
fn draw_walk(name: &str, channels: &[u8], groups: &[&ScenarioFigures]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let title = format!("{name}, APs on channels {}", channels_label(channels));
        let root = root.titled(&title, ("sans-serif", 22)).map_err(plot_error)?;
        let runs: Vec<(&ScenarioFigures, &RunFigures)> =
            groups.iter().filter_map(|g| Some((*g, representative_walk(g)?))).collect();
        let x_max = runs
            .iter()
            .map(|(_, r)| r.loss_timeline.len() as f64 * walk::BIN_MS / 1e3)
            .fold(1.0_f64, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "probes lost each half second, the run nearest each stack's median (|: a roam)",
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..x_max, 0.0..105.0)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("s after the trigger")
            .y_desc("% lost")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(plot_error)?;
        for (g, run) in &runs {
            let colour = colour(g.stack);
            let points = run
                .loss_timeline
                .iter()
                .enumerate()
                .map(|(i, pct)| ((i as f64 + 0.5) * walk::BIN_MS / 1e3, *pct));
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(plot_error)?
                .label(g.stack.name())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(
                    connections_s(run)
                        .into_iter()
                        .map(|t| PathElement::new([(t, 96.0), (t, 104.0)], colour.stroke_width(3))),
                )
                .map_err(plot_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn draw(name: &str, channels: &[u8], groups: &[&ScenarioFigures]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let title = format!("{name}, APs on channels {}", channels_label(channels));
        let root = root.titled(&title, ("sans-serif", 22)).map_err(plot_error)?;
        let (top, bottom) = root.split_vertically(HEIGHT / 2 - 20);
        let x_max =
            groups.iter().flat_map(|g| g.runs.iter().map(|r| r.gap_ms)).fold(100.0_f64, f64::max)
                * 1.08;
        gaps_panel(&top, groups, x_max)?;
        timeline_panel(&bottom, groups, x_max)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// The y of a group's row: the first group (stock) on top.
fn row_y(index: usize, groups: &[&ScenarioFigures]) -> f64 {
    (groups.len() - 1 - index) as f64
}

/// Rows are stacks at integer y; the y axis shows their names at those integers only.
fn stack_rows<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    x_desc: &str,
    groups: &[&ScenarioFigures],
    x_max: f64,
) -> Result<
    ChartContext<
        'a,
        SVGBackend<'b>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
> {
    let rows = groups.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(120)
        .build_cartesian_2d(0.0..x_max, -0.5..rows - 0.5)
        .map_err(plot_error)?;
    let names: Vec<&str> = groups.iter().rev().map(|g| g.stack.name()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(2 * groups.len() + 1)
        .y_label_formatter(&|y| {
            let index = y.round();
            if (y - index).abs() < 1e-6 && index >= 0.0 {
                names.get(index as usize).map_or_else(String::new, |n| (*n).to_owned())
            } else {
                String::new()
            }
        })
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc(x_desc)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(plot_error)?;
    Ok(chart)
}

fn gaps_panel(area: &Area<'_>, groups: &[&ScenarioFigures], x_max: f64) -> Result<()> {
    let mut chart =
        stack_rows(area, "traffic gap of every run (bar: median)", "gap, ms", groups, x_max)?;
    for (row, g) in groups.iter().enumerate() {
        let y = row_y(row, groups);
        let n = g.runs.len().max(1) as f64;
        // Spread the runs over the row so equal gaps stay visible.
        chart
            .draw_series(g.runs.iter().enumerate().map(|(i, r)| {
                let jitter = (i as f64 + 0.5) / n * 0.5 - 0.25;
                Circle::new((r.gap_ms, y + jitter), 4, colour(g.stack).mix(0.7).filled())
            }))
            .map_err(plot_error)?;
        if let Some(median) = g.p50_gap_ms {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    [(median, y - 0.38), (median, y + 0.38)],
                    BLACK.stroke_width(3),
                )))
                .map_err(plot_error)?;
        }
    }
    Ok(())
}

fn timeline_panel(area: &Area<'_>, groups: &[&ScenarioFigures], x_max: f64) -> Result<()> {
    let mut chart = stack_rows(
        area,
        "one run per stack (the one nearest its median)",
        "ms after the trigger",
        groups,
        x_max,
    )?;
    for (phase, (label, fill)) in PHASES.iter().enumerate() {
        let bars: Vec<Rectangle<(f64, f64)>> = groups
            .iter()
            .enumerate()
            .filter_map(|(row, g)| Some((row, segments(&representative(g)?.milestones))))
            .flat_map(|(row, segs)| {
                let y = row_y(row, groups);
                segs.into_iter().filter(move |(p, _, _)| *p == phase).map(move |(_, start, end)| {
                    Rectangle::new([(start, y - 0.3), (end, y + 0.3)], fill.filled())
                })
            })
            .collect();
        chart
            .draw_series(bars)
            .map_err(plot_error)?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], fill.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(plot_error)?;
    Ok(())
}

fn plot_error<E: std::fmt::Debug>(err: E) -> anyhow::Error {
    anyhow!("drawing the benchmark chart: {err:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::table::tests::sample_report;

    #[test]
    fn a_walk_is_drawn_as_loss_over_time_with_its_roams() {
        let mut report = sample_report();
        for g in &mut report.scenarios {
            g.name = "walk-away".into();
            for run in &mut g.runs {
                run.loss_timeline = vec![0.0, 0.0, 40.0, 100.0, 0.0];
                run.timeline.push(roam_testbed::timeline::TimelineEvent::new(
                    1_200.0,
                    "connected",
                    "wpa_supplicant",
                ));
            }
            g.p50_lost_packets = Some(g.runs[0].lost_packets as f64);
        }
        let charts = all(&report).unwrap();
        let (name, svg) = &charts[0];
        assert_eq!(name, "walk-away-1-1.svg");
        assert!(svg.contains("probes lost each half second"), "the walk's picture");
        assert!(!svg.contains("until detected"), "not the gap picture");
        let run = &report.scenarios[0].runs[0];
        assert_eq!(connections_s(run), [1.2]);
    }

    #[test]
    fn segments_follow_the_known_milestones() {
        let m = Milestones {
            detect_ms: Some(10.0),
            auth_ms: None,
            assoc_ms: Some(60.0),
            handshake_ms: Some(120.0),
            first_data_ms: Some(150.0),
        };
        assert_eq!(
            segments(&m),
            [(0, 0.0, 10.0), (2, 10.0, 60.0), (3, 60.0, 120.0), (4, 120.0, 150.0)]
        );
        assert!(segments(&Milestones::default()).is_empty());
    }

    #[test]
    fn one_svg_per_run_set_with_every_stack() {
        let report = sample_report();
        let charts = all(&report).unwrap();
        assert_eq!(charts.len(), 1);
        let (name, svg) = &charts[0];
        assert_eq!(name, "ap-deauth-1-1.svg");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for text in ["wpa_supplicant", "iwd", "roam", "until detected", "ap-deauth"] {
            assert!(svg.contains(text), "{text} missing from the SVG");
        }
        let security = roam_testbed::scenario::Security::Wpa2Psk;
        let set = RunSet { name: "ap-deauth", channels: &[1, 1], security };
        let roam = group(&report, set, Stack::Roam).unwrap();
        assert_eq!(representative(roam).unwrap().gap_ms, 200.0);
    }
}
