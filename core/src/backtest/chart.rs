//! A backtest report as an SVG chart a browser opens (`equity.svg`): the
//! strategy's equity and buy-and-hold of the starting balances over a
//! time axis with dates, the starting equity as a baseline, gridlines,
//! the fills marked (buys below, sells above), and the drawdown from the
//! running peak in a panel underneath. Labels carry the currency and are
//! rounded for reading; the figures in the heading are the report's.

use crate::order::Side;
use crate::time::iso8601_ms;
use crate::wire::backtest::Report;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::fmt::Write as _;

const W: f64 = 960.0;
const H: f64 = 616.0;
const LEFT: f64 = 88.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 108.0;
/// The equity panel's and the drawdown panel's heights, and the gap.
const MAIN_H: f64 = 330.0;
const DD_H: f64 = 100.0;
const GAP: f64 = 34.0;

const BLUE: &str = "#1f6feb";
const GREY: &str = "#8b949e";
const GREEN: &str = "#1a7f37";
const RED: &str = "#cf222e";
const GRID: &str = "#e6e8eb";
const TEXT: &str = "#24292f";
const MUTED: &str = "#57606a";

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// About `n` round values covering `lo..hi` (steps of 1, 2, 2.5 or 5 × 10^k).
fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON);
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    (0..=n * 2 + 2)
        .map(|i| first + i as f64 * step)
        .take_while(|v| *v <= hi + step * 1e-9)
        .collect()
}

/// Decimal places that write `step` (and so every tick) exactly.
fn places_for(step: f64) -> usize {
    (0..=8)
        .find(|p| {
            let scaled = step * 10f64.powi(*p as i32);
            (scaled - scaled.round()).abs() < 1e-6
        })
        .unwrap_or(8)
}

/// `1234567.891` at 2 places → `1,234,567.89`.
fn grouped(v: f64, places: usize) -> String {
    let text = format!("{:.*}", places, v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '−');
    }
    out
}

fn signed(v: f64, places: usize) -> String {
    let g = grouped(v, places);
    if v > 0.0 && g.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{g}")
    } else {
        g
    }
}

/// Time ticks at a round interval giving about 6–10 labels.
fn time_ticks(t0: i64, t1: i64) -> (Vec<i64>, i64) {
    const STEPS: [i64; 16] = [
        60_000,
        300_000,
        900_000,
        1_800_000,
        3_600_000,
        7_200_000,
        10_800_000,
        21_600_000,
        43_200_000,
        86_400_000,
        172_800_000,
        432_000_000,
        604_800_000,
        1_209_600_000,
        2_592_000_000,
        7_776_000_000,
    ];
    let span = (t1 - t0).max(1);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 9)
        .unwrap_or(STEPS[STEPS.len() - 1]);
    let first = (t0 + step - 1).div_euclid(step) * step;
    (
        (0..)
            .map(|i| first + i * step)
            .take_while(|t| *t <= t1)
            .collect(),
        step,
    )
}

/// A tick's label: the time, with the date where a day starts (or every
/// label, for steps of a day or more).
fn time_label(t: i64, step: i64, first: bool) -> (String, Option<String>) {
    let iso = iso8601_ms(t);
    let date = iso.get(..10).unwrap_or_default().to_string();
    let hm = iso.get(11..16).unwrap_or_default().to_string();
    if step >= 86_400_000 {
        return (date, None);
    }
    let day_starts = t.rem_euclid(86_400_000) == 0;
    (hm, (first || day_starts).then_some(date))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The chart, titled `title`.
pub fn equity_svg(r: &Report, title: &str) -> String {
    let mut svg = String::new();
    heading(&mut svg, r, title);
    let pts: Vec<(i64, f64, f64)> = r
        .equity_curve
        .iter()
        .map(|p| (p.at_ms, f(p.equity), f(p.hold)))
        .collect();
    let Some(plot) = Plot::of(&pts, f(r.initial_equity)) else {
        let _ = writeln!(
            svg,
            r##"<text x="{LEFT}" y="{}" fill="{MUTED}">no equity recorded</text></svg>"##,
            TOP + 40.0
        );
        return svg;
    };
    let cur = esc(&r.currency);
    plot.axes(&mut svg, &cur);
    plot.curves(&mut svg, &pts, &cur);
    plot.fills(&mut svg, r);
    plot.drawdown(&mut svg, &pts, f(r.max_drawdown_pct));
    svg.push_str("</svg>\n");
    svg
}

/// The title, the figures and the time range, and the legend.
fn heading(svg: &mut String, r: &Report, title: &str) {
    let cur = esc(&r.currency);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12" fill="{TEXT}">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="26" font-size="16" font-weight="600">{title}</text>
"##,
        title = esc(title)
    );
    let range = match (&r.run.from, &r.run.to) {
        (Some(a), Some(b)) => format!(
            "{} → {} UTC",
            &a[..16.min(a.len())].replace('T', " "),
            &b[..16.min(b.len())].replace('T', " ")
        ),
        _ => String::new(),
    };
    let money = format!(
        "PnL {} {cur} ({} %) · buy and hold {} {cur} ({} %) · strategy vs holding {} {cur}",
        signed(f(r.pnl), 2),
        signed(f(r.return_pct), 3),
        signed(f(r.buy_and_hold.pnl), 2),
        signed(f(r.buy_and_hold.return_pct), 3),
        signed(f(r.vs_buy_and_hold), 2),
    );
    let risk = format!(
        "max drawdown {} % · Sharpe {} · {} trades · win rate {} % · fees {} {cur}",
        grouped(f(r.max_drawdown_pct), 3),
        grouped(f(r.sharpe), 2),
        r.trades,
        grouped(f(r.win_rate), 1),
        grouped(f(r.fees), 2),
    );
    let _ = writeln!(svg, r##"<text x="{LEFT}" y="46">{}</text>"##, esc(&money));
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="64" fill="{MUTED}">{}</text>"##,
        esc(&risk)
    );
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="82" fill="{MUTED}">{}</text>"##,
        esc(&range)
    );
    let lx = W - RIGHT - 330.0;
    let _ = write!(
        svg,
        r##"<g font-size="11"><line x1="{lx}" y1="96" x2="{x2}" y2="96" stroke="{BLUE}" stroke-width="2"/><text x="{t1}" y="100">strategy</text>
<line x1="{l2}" y1="96" x2="{l2e}" y2="96" stroke="{GREY}" stroke-width="1.5" stroke-dasharray="5 3"/><text x="{t2}" y="100">buy and hold</text>
<line x1="{l3}" y1="96" x2="{l3e}" y2="96" stroke="{MUTED}" stroke-dasharray="1 3"/><text x="{t3}" y="100">starting equity</text></g>
"##,
        x2 = lx + 22.0,
        t1 = lx + 26.0,
        l2 = lx + 90.0,
        l2e = lx + 112.0,
        t2 = lx + 116.0,
        l3 = lx + 210.0,
        l3e = lx + 232.0,
        t3 = lx + 236.0,
    );
}

/// The plotted time span and equity range, and where the drawdown
/// panel starts.
struct Plot {
    t0: i64,
    t1: i64,
    lo: f64,
    hi: f64,
    start: f64,
}

impl Plot {
    /// Spans every point and the starting equity, with a margin; `None`
    /// without points.
    fn of(pts: &[(i64, f64, f64)], start: f64) -> Option<Plot> {
        let (first, last) = (pts.first()?, pts.last()?);
        let (mut lo, mut hi) = (start, start);
        for (_, e, h) in pts {
            lo = lo.min(*e).min(*h);
            hi = hi.max(*e).max(*h);
        }
        let pad = ((hi - lo) * 0.06).max(hi.abs() * 1e-6).max(1e-9);
        Some(Plot {
            t0: first.0,
            t1: last.0.max(first.0 + 1),
            lo: lo - pad,
            hi: hi + pad,
            start,
        })
    }

    fn x(&self, t: i64) -> f64 {
        LEFT + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * (W - LEFT - RIGHT)
    }

    fn y(&self, v: f64) -> f64 {
        TOP + (self.hi - v) / (self.hi - self.lo) * MAIN_H
    }

    fn dd_top() -> f64 {
        TOP + MAIN_H + GAP
    }

    /// Gridlines, the equity axis with its unit, and the dated time axis.
    fn axes(&self, svg: &mut String, cur: &str) {
        let ticks = nice_ticks(self.lo, self.hi, 6);
        let step = ticks.get(1).zip(ticks.first()).map_or(1.0, |(b, a)| b - a);
        let places = places_for(step);
        for v in &ticks {
            let yy = self.y(*v);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{xe}" y2="{yy:.1}" stroke="{GRID}"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="{MUTED}">{label}</text>"##,
                xe = W - RIGHT,
                tx = LEFT - 8.0,
                ty = yy + 4.0,
                label = grouped(*v, places)
            );
        }
        let _ = writeln!(
            svg,
            r##"<text transform="translate(16 {my}) rotate(-90)" text-anchor="middle" fill="{MUTED}">equity, {cur}</text>"##,
            my = TOP + MAIN_H / 2.0
        );
        let dd_top = Self::dd_top();
        let (tt, tstep) = time_ticks(self.t0, self.t1);
        for (i, t) in tt.iter().enumerate() {
            let xx = self.x(*t);
            let (label, date) = time_label(*t, tstep, i == 0);
            let _ = writeln!(
                svg,
                r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{yb}" stroke="{GRID}"/><line x1="{xx:.1}" y1="{dd_top}" x2="{xx:.1}" y2="{db}" stroke="{GRID}"/><text x="{xx:.1}" y="{ly}" text-anchor="middle" fill="{MUTED}">{label}</text>"##,
                yb = TOP + MAIN_H,
                db = dd_top + DD_H,
                ly = dd_top + DD_H + 16.0,
            );
            if let Some(d) = date {
                let _ = writeln!(
                    svg,
                    r##"<text x="{xx:.1}" y="{ly}" text-anchor="middle" fill="{MUTED}" font-size="11">{d}</text>"##,
                    ly = dd_top + DD_H + 30.0
                );
            }
        }
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end" fill="{MUTED}" font-size="11">time, UTC</text>"##,
            W - RIGHT,
            dd_top + DD_H + 30.0
        );
    }

    /// The starting equity, buy and hold, and the strategy's equity.
    fn curves(&self, svg: &mut String, pts: &[(i64, f64, f64)], cur: &str) {
        let ys = self.y(self.start);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{ys:.1}" x2="{xe}" y2="{ys:.1}" stroke="{MUTED}" stroke-dasharray="1 3"/>"##,
            xe = W - RIGHT,
        );
        let line = |pick: &dyn Fn(&(i64, f64, f64)) -> f64| {
            pts.iter()
                .map(|p| format!("{:.1},{:.1}", self.x(p.0), self.y(pick(p))))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(
            svg,
            r##"<polyline fill="none" stroke="{GREY}" stroke-width="1.5" stroke-dasharray="5 3" points="{}"/>"##,
            line(&|p| p.2)
        );
        let _ = writeln!(
            svg,
            r##"<polyline fill="none" stroke="{BLUE}" stroke-width="2" points="{}"/>"##,
            line(&|p| p.1)
        );
        // Over the curves, with a halo to stay readable where they cross.
        let _ = writeln!(
            svg,
            r##"<text x="{tx}" y="{ty:.1}" text-anchor="end" fill="{MUTED}" font-size="11" stroke="white" stroke-width="4" paint-order="stroke">start {label} {cur}</text>"##,
            tx = W - RIGHT - 6.0,
            ty = ys - 5.0,
            label = grouped(self.start, 2)
        );
    }

    /// Fills: buys as ticks rising from the panel's floor, sells hanging
    /// from its top; and the panel's frame.
    fn fills(&self, svg: &mut String, r: &Report) {
        let floor = TOP + MAIN_H;
        for m in &r.fills {
            let xx = self.x(m.at_ms.clamp(self.t0, self.t1));
            let (y1, y2, color) = match m.side {
                Side::Buy => (floor, floor - 9.0, GREEN),
                Side::Sell => (TOP, TOP + 9.0, RED),
            };
            let _ = writeln!(
                svg,
                r##"<line x1="{xx:.1}" y1="{y1}" x2="{xx:.1}" y2="{y2}" stroke="{color}" stroke-opacity="0.6"/>"##
            );
        }
        if !r.fills.is_empty() {
            let shown = if (r.fills.len() as u64) < r.trades {
                format!(" ({} of {} fills shown)", r.fills.len(), r.trades)
            } else {
                String::new()
            };
            let _ = writeln!(
                svg,
                r##"<text x="{}" y="{}" text-anchor="end" font-size="11" fill="{MUTED}"><tspan fill="{GREEN}">▲ buys</tspan> · <tspan fill="{RED}">▼ sells</tspan>{shown}</text>"##,
                W - RIGHT,
                TOP + MAIN_H + 14.0,
            );
        }
        let _ = writeln!(
            svg,
            r##"<rect x="{LEFT}" y="{TOP}" width="{w}" height="{MAIN_H}" fill="none" stroke="#d0d7de"/>"##,
            w = W - LEFT - RIGHT
        );
    }

    /// The drawdown panel: percent below the running peak of the sampled
    /// curve, scaled to the report's exact deepest drawdown.
    fn drawdown(&self, svg: &mut String, pts: &[(i64, f64, f64)], max_drawdown_pct: f64) {
        let mut peak = f64::MIN;
        let dds: Vec<(i64, f64)> = pts
            .iter()
            .map(|(t, e, _)| {
                peak = peak.max(*e);
                let dd = if peak > 0.0 {
                    (peak - e) / peak * 100.0
                } else {
                    0.0
                };
                (*t, dd)
            })
            .collect();
        let deepest = max_drawdown_pct.max(dds.iter().map(|d| d.1).fold(0.0, f64::max));
        let dd_max = if deepest > 0.0 { deepest * 1.1 } else { 1.0 };
        let dd_top = Self::dd_top();
        let yd = |v: f64| dd_top + v / dd_max * DD_H;
        let mut area = format!("{:.1},{:.1} ", self.x(self.t0), yd(0.0));
        for (t, v) in &dds {
            let _ = write!(area, "{:.1},{:.1} ", self.x(*t), yd(*v));
        }
        let _ = write!(area, "{:.1},{:.1}", self.x(self.t1), yd(0.0));
        let _ = writeln!(
            svg,
            r##"<polygon fill="{RED}" fill-opacity="0.18" stroke="{RED}" stroke-width="1" points="{area}"/>
<rect x="{LEFT}" y="{dd_top}" width="{w}" height="{DD_H}" fill="none" stroke="#d0d7de"/>
<text x="{tx}" y="{t0y}" text-anchor="end" fill="{MUTED}">0 %</text>
<text x="{tx}" y="{t1y:.1}" text-anchor="end" fill="{MUTED}">−{deep} %</text>
<line x1="{LEFT}" y1="{t1l:.1}" x2="{xe}" y2="{t1l:.1}" stroke="{GRID}"/>
<text x="{LEFT}" y="{lab}" fill="{MUTED}">drawdown from the peak (max {maxdd} %)</text>"##,
            w = W - LEFT - RIGHT,
            tx = LEFT - 8.0,
            t0y = dd_top + 4.0,
            t1y = yd(deepest) + 4.0,
            t1l = yd(deepest),
            xe = W - RIGHT,
            deep = grouped(deepest, 2),
            lab = dd_top - 6.0,
            maxdd = grouped(max_drawdown_pct, 3),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 10.0, 5), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = nice_ticks(193_412.0, 197_830.0, 6);
        assert!(t.iter().all(|v| v % 500.0 == 0.0), "{t:?}");
        assert!(t.len() >= 4 && t.len() <= 13, "{t:?}");
        assert_eq!(places_for(0.25), 2);
        assert_eq!(places_for(0.5), 1);
        assert_eq!(places_for(500.0), 0);
    }

    #[test]
    fn numbers_read_as_money() {
        assert_eq!(grouped(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(grouped(-231.044, 2), "−231.04");
        assert_eq!(grouped(-0.001, 2), "0.00");
        assert_eq!(signed(900.0, 2), "+900.00");
    }

    #[test]
    fn time_ticks_fit_the_span_with_dates_where_days_start() {
        let day = 86_400_000;
        let (t, step) = time_ticks(1_735_689_600_000, 1_735_689_600_000 + day);
        assert_eq!(step, 10_800_000, "3 h over a day");
        assert_eq!(t.len(), 9);
        assert_eq!(
            time_label(t[0], step, true),
            ("00:00".into(), Some("2025-01-01".into()))
        );
        assert_eq!(time_label(t[1], step, false), ("03:00".into(), None));
        let (_, month) = time_ticks(1_735_689_600_000, 1_735_689_600_000 + 30 * day);
        assert_eq!(month, 432_000_000, "5 days over a month");
        assert_eq!(time_label(1_735_689_600_000, month, false).0, "2025-01-01");
    }
}
