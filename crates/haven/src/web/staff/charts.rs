//! Bar charts for the dashboards as SVG, drawn by `plotters` (its SVG backend into a
//! `String`): presentation attributes only, no script and no style attribute, served as an
//! image (`<img>`) with its numbers in a table beneath for screen readers and printing.

use plotters::prelude::*;

/// Chart size in pixels (the page shows it at this size).
pub const WIDTH: u32 = 720;
pub const HEIGHT: u32 = 360;

/// GOV.UK's palette, blue and orange first (told apart in greyscale and by the legend's
/// words); a breakdown with more values than colours repeats them, and its table beneath
/// names every value.
const COLOURS: [RGBColor; 8] = [
    RGBColor(29, 112, 184),
    RGBColor(244, 119, 56),
    RGBColor(0, 112, 60),
    RGBColor(76, 44, 146),
    RGBColor(213, 56, 128),
    RGBColor(40, 161, 151),
    RGBColor(80, 90, 95),
    RGBColor(181, 136, 102),
];

/// Longest legend entry drawn (the table beneath has every name in full).
const LEGEND_CHARS: usize = 44;

/// Longest label drawn under a bar (the table beneath has every label in full).
const LABEL_CHARS: usize = 16;

/// One series of bars: its name (the legend) and one value per label.
pub struct Series<'a> {
    pub name: &'a str,
    pub values: Vec<i64>,
}

fn short(label: &str) -> String {
    shortened(label, LABEL_CHARS)
}

fn shortened(label: &str, most: usize) -> String {
    if label.chars().count() <= most {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(most - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// A bar chart of `series` (side by side per label) as an SVG document.
pub fn bars(labels: &[String], series: &[Series<'_>]) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, labels, series, false).map_err(|e| format!("chart: {e}"))?;
    Ok(svg)
}

/// A bar chart with one bar per label made of `series` stacked (a breakdown over time).
pub fn stacked_bars(labels: &[String], series: &[Series<'_>]) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, labels, series, true).map_err(|e| format!("chart: {e}"))?;
    Ok(svg)
}

/// Where each legend entry goes: `(x, line)`, wrapping onto more lines when the names do not
/// fit one (about 9 pixels a character at the legend's size).
fn legend_layout(names: &[String]) -> Vec<(i32, i32)> {
    let mut out = Vec::with_capacity(names.len());
    let (mut x, mut line) = (60, 0);
    for name in names {
        let width = 30 + 9 * i32::try_from(name.chars().count()).unwrap_or(10);
        if x > 60 && x + width > WIDTH as i32 - 8 {
            x = 60;
            line += 1;
        }
        out.push((x, line));
        x += width + 18;
    }
    out
}

fn draw(
    svg: &mut String,
    labels: &[String],
    series: &[Series<'_>],
    stacked: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let text = |size: u32| TextStyle::from(("sans-serif", size).into_font()).color(&BLACK);
    if labels.is_empty() {
        root.draw(&Text::new(
            "Nothing to show for this range",
            (WIDTH as i32 / 2 - 110, HEIGHT as i32 / 2),
            text(16),
        ))?;
        root.present()?;
        return Ok(());
    }
    let n = u32::try_from(labels.len()).unwrap_or(u32::MAX);
    // Segments run 0..=last: one per label (one bar needs a range of one).
    let last = if n > 1 { n - 1 } else { n };
    let max = if stacked {
        (0..labels.len())
            .map(|i| {
                series
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0))
                    .sum::<i64>()
            })
            .max()
            .unwrap_or(0)
    } else {
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .max()
            .unwrap_or(0)
    }
    .max(1);
    // A few more than the largest so the tallest bar does not touch the top.
    let top = max + (max / 10).max(1);
    // Label every bar when there is room, else every k-th (the table has them all): about
    // 8 pixels a character at the labels' size.
    let longest = labels
        .iter()
        .map(|l| short(l).chars().count())
        .max()
        .unwrap_or(1);
    let fits = (640 / (longest * 8 + 12)).max(1);
    let step = labels.len().div_ceil(fits).max(1);
    let legend_names: Vec<String> = series
        .iter()
        .map(|s| shortened(s.name, LEGEND_CHARS))
        .collect();
    let legend = legend_layout(&legend_names);
    let legend_lines = legend.last().map_or(0, |(_, line)| line + 1);
    let legend_room = if series.len() > 1 {
        8 + 20 * legend_lines
    } else {
        8
    };
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .margin_top(legend_room)
        // Room for the last label's second half, centred under the last bar.
        .margin_right(56)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d((0u32..last).into_segmented(), 0i64..top)?;
    let formatter = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) if (*i as usize) % step == 0 => labels
            .get(*i as usize)
            .map(|l| short(l))
            .unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len() * 2 + 2)
        .x_label_formatter(&formatter)
        .y_labels(6)
        .y_label_formatter(&|v: &i64| v.to_string())
        .label_style(text(15))
        .axis_desc_style(text(15))
        .draw()?;
    let seg = |i: u32| -> i32 { chart.backend_coord(&(SegmentValue::Exact(i), 0i64)).0 };
    let width = (seg(1) - seg(0)).max(1);
    let groups = if stacked {
        1
    } else {
        i32::try_from(series.len()).unwrap_or(1).max(1)
    };
    let gap = (width / 8).max(1);
    let bar = ((width - 2 * gap) / groups).max(1);
    let y_of = |i: u32, value: i64| chart.backend_coord(&(SegmentValue::Exact(i), value)).1;
    // Stacked: each label's running total so far, the next series' bar starting there.
    let mut below = vec![0i64; labels.len()];
    for (s, one) in series.iter().enumerate() {
        let colour = COLOURS[s % COLOURS.len()];
        let offset = if stacked {
            gap
        } else {
            gap + bar * i32::try_from(s).unwrap_or(0)
        };
        for (i, value) in one.values.iter().enumerate() {
            let start = if stacked {
                below.get(i).copied().unwrap_or(0)
            } else {
                0
            };
            if let Some(total) = below.get_mut(i) {
                *total += value;
            }
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            let x = seg(i) + offset;
            root.draw(&Rectangle::new(
                [(x, y_of(i, start + value)), (x + bar - 1, y_of(i, start))],
                colour.filled(),
            ))?;
        }
    }
    if series.len() > 1 {
        for (s, (name, (x, line))) in legend_names.iter().zip(&legend).enumerate() {
            let colour = COLOURS[s % COLOURS.len()];
            let y = 8 + 20 * line;
            root.draw(&Rectangle::new(
                [(*x, y), (x + 14, y + 14)],
                colour.filled(),
            ))?;
            root.draw(&Text::new(name.clone(), (x + 20, y), text(15)))?;
        }
    }
    drop(chart);
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_svg_without_script_or_style_attributes() {
        let labels = vec![
            "Parent or carer".to_owned(),
            "A professional working with children".to_owned(),
        ];
        let svg = bars(
            &labels,
            &[
                Series {
                    name: "Suggested",
                    values: vec![3, 12],
                },
                Series {
                    name: "Confirmed",
                    values: vec![1, 7],
                },
            ],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("style="));
        assert!(svg.contains("Parent or carer"));
        assert!(svg.contains("Suggested"));
        let empty = bars(&[], &[]).unwrap();
        assert!(empty.contains("Nothing to show"));
    }

    #[test]
    fn a_stacked_chart_names_every_series_and_wraps_its_legend() {
        let labels = vec!["January 2026".to_owned(), "February 2026".to_owned()];
        let names = [
            "Sexting or sharing images",
            "Online grooming",
            "Sexual exploitation by peers",
            "Going missing",
            "Substance misuse",
        ];
        let series: Vec<Series<'_>> = names
            .iter()
            .map(|name| Series {
                name,
                values: vec![2, 5],
            })
            .collect();
        let svg = stacked_bars(&labels, &series).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(!svg.contains("style="));
        for name in names {
            assert!(svg.contains(name), "{name} missing from the legend");
        }
        let layout = legend_layout(&names.map(str::to_owned));
        assert!(layout.iter().any(|(_, line)| *line > 0), "{layout:?}");
        assert!(
            layout
                .iter()
                .zip(names)
                .all(|((x, _), name)| x + 30 + 9 * name.len() as i32 <= WIDTH as i32),
            "{layout:?}"
        );
    }
}
