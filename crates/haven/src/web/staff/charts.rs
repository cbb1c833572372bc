//! Bar charts for the dashboards as SVG, drawn by `plotters` (its SVG backend into a
//! `String`): presentation attributes only, no script and no style attribute, served as an
//! image (`<img>`) with its numbers in a table beneath for screen readers and printing.

use plotters::prelude::*;

/// Chart size in pixels (the page shows it at this size).
pub const WIDTH: u32 = 720;
pub const HEIGHT: u32 = 360;

/// GOV.UK blue and orange: told apart in greyscale and by the legend's words.
const COLOURS: [RGBColor; 2] = [RGBColor(29, 112, 184), RGBColor(244, 119, 56)];

/// Longest label drawn under a bar (the table beneath has every label in full).
const LABEL_CHARS: usize = 16;

/// One series of bars: its name (the legend) and one value per label.
pub struct Series<'a> {
    pub name: &'a str,
    pub values: Vec<i64>,
}

fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// A bar chart of `series` (side by side per label) as an SVG document.
pub fn bars(labels: &[String], series: &[Series<'_>]) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, labels, series).map_err(|e| format!("chart: {e}"))?;
    Ok(svg)
}

fn draw(
    svg: &mut String,
    labels: &[String],
    series: &[Series<'_>],
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
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
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
    let legend_room = if series.len() > 1 { 28 } else { 8 };
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .margin_top(legend_room)
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
    let groups = i32::try_from(series.len()).unwrap_or(1).max(1);
    let gap = (width / 8).max(1);
    let bar = ((width - 2 * gap) / groups).max(1);
    let base = chart.backend_coord(&(SegmentValue::Exact(0), 0i64)).1;
    for (s, one) in series.iter().enumerate() {
        let colour = COLOURS[s % COLOURS.len()];
        let offset = gap + bar * i32::try_from(s).unwrap_or(0);
        for (i, value) in one.values.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            let x = seg(i) + offset;
            let y = chart.backend_coord(&(SegmentValue::Exact(i), *value)).1;
            root.draw(&Rectangle::new(
                [(x, y), (x + bar - 1, base)],
                colour.filled(),
            ))?;
        }
    }
    if series.len() > 1 {
        let mut x = 60;
        for (s, one) in series.iter().enumerate() {
            let colour = COLOURS[s % COLOURS.len()];
            root.draw(&Rectangle::new([(x, 8), (x + 14, 22)], colour.filled()))?;
            root.draw(&Text::new(one.name.to_owned(), (x + 20, 8), text(15)))?;
            x += 48 + 9 * i32::try_from(one.name.len()).unwrap_or(10);
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
}
