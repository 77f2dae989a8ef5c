//! The agent's metrics as scraped (`metrics-before.txt`, `metrics.txt` in a run's logs), parsed
//! into series with their labels: what the suite's checks and the benchmark's costs read.
//!
//! A series is matched by its name and the labels asked for; others are ignored (the agent
//! labels its own series with its `device`, and may add labels without breaking a reader).

use std::collections::BTreeMap;

/// One sample: a metric name, its labels, its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape(Vec<Series>);

impl Scrape {
    /// Parses Prometheus/OpenMetrics text. Comments, and lines that are not a sample with a
    /// number, are skipped: only values are needed here.
    pub fn parse(text: &str) -> Scrape {
        Scrape(text.lines().filter(|line| !line.starts_with('#')).filter_map(sample).collect())
    }

    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Series> + 'a {
        self.0.iter().filter(move |s| s.name == name)
    }

    /// The value of `name`'s one series (whatever its labels), if it has one.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.named(name).next().map(|s| s.value)
    }

    /// The value of the series of `name` whose `label` is `value`, summed if several.
    pub fn with_label(&self, name: &str, label: &str, value: &str) -> Option<f64> {
        let mut matching =
            self.named(name).filter(|s| s.labels.get(label).is_some_and(|v| v == value)).peekable();
        matching.peek()?;
        Some(matching.map(|s| s.value).sum())
    }

    /// Sum over every series of `name`, whatever their labels.
    pub fn sum(&self, name: &str) -> f64 {
        self.named(name).map(|s| s.value).sum()
    }

    /// Adds a sample (tests build scrapes so).
    #[cfg(test)]
    pub fn insert(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.0.push(Series { name: name.to_owned(), labels, value });
    }

    /// Whether `name` has a series at all.
    pub fn has(&self, name: &str) -> bool {
        self.named(name).next().is_some()
    }

    /// `name`'s series keyed by their `label` (summed over the other labels).
    pub fn by_label(&self, name: &str, label: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for series in self.named(name) {
            if let Some(key) = series.labels.get(label) {
                *out.entry(key.clone()).or_insert(0.0) += series.value;
            }
        }
        out
    }
}

/// `name{label="value",...} number [timestamp]`, or `name number`.
fn sample(line: &str) -> Option<Series> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let (labels, rest) = match line[name_end..].strip_prefix('{') {
        Some(inside) => labels(inside)?,
        None => (BTreeMap::new(), &line[name_end..]),
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Series { name: name.to_owned(), labels, value })
}

/// The labels up to the closing brace, and what follows it.
fn labels(mut text: &str) -> Option<(BTreeMap<String, String>, &str)> {
    let mut labels = BTreeMap::new();
    loop {
        text = text.trim_start_matches(',');
        if let Some(rest) = text.strip_prefix('}') {
            return Some((labels, rest));
        }
        let (key, after) = text.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.to_owned(), value);
        text = &after[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP roam_state The state.\n\
        # TYPE roam_state gauge\n\
        roam_state{device=\"sta0\",state=\"init\"} 0\n\
        roam_state{device=\"sta0\",state=\"run\"} 1\n\
        roam_ringbuf_events_lost_total{device=\"sta0\"} 5904\n\
        roam_kernel_events_total{device=\"sta0\",kind=\"bss_new\"} 3\n\
        roam_kernel_events_total{device=\"sta0\",kind=\"deauth\"} 2\n\
        roam_bss_info{device=\"sta0\",ssid=\"a \\\"quoted\\\" {name}\"} 1\n\
        process_resident_memory_bytes 1.5e7\n\
        # EOF\n";

    #[test]
    fn series_are_found_by_name_and_the_labels_asked_for() {
        let scrape = Scrape::parse(TEXT);
        assert_eq!(scrape.value("roam_ringbuf_events_lost_total"), Some(5904.0));
        assert_eq!(scrape.value("process_resident_memory_bytes"), Some(1.5e7));
        assert_eq!(scrape.with_label("roam_kernel_events_total", "kind", "bss_new"), Some(3.0));
        assert_eq!(scrape.with_label("roam_kernel_events_total", "kind", "carrier"), None);
        assert_eq!(scrape.sum("roam_kernel_events_total"), 5.0);
        assert_eq!(scrape.by_label("roam_state", "state")["run"], 1.0);
        assert!(scrape.has("roam_bss_info") && !scrape.has("roam_attempts_total"));
        assert_eq!(scrape.value("roam_kernel_events"), None, "a prefix is not a name");
    }

    #[test]
    fn quoted_label_values_are_read_whole() {
        let scrape = Scrape::parse(TEXT);
        let ssid = &scrape.0.iter().find(|s| s.name == "roam_bss_info").unwrap().labels["ssid"];
        assert_eq!(ssid, "a \"quoted\" {name}");
    }

    #[test]
    fn the_unlabelled_spelling_of_older_agents_is_read_too() {
        let scrape = Scrape::parse(
            "roam_ringbuf_events_lost_total 7\nroam_kernel_events_total{kind=\"bss_new\"} 2\n",
        );
        assert_eq!(scrape.value("roam_ringbuf_events_lost_total"), Some(7.0));
        assert_eq!(scrape.with_label("roam_kernel_events_total", "kind", "bss_new"), Some(2.0));
    }
}
