//! What a baresip phone heard, read from its recordings while a call runs
//! (see [`crate::baresip`]): whether fresh audio holds a tone, how much was
//! recorded, when the first non-silent sample arrived; and a process's CPU
//! time, for the figures of the call benchmarks.
//!
//! baresip writes what it decodes as it decodes it, so a recording grows in
//! real time and its WAV header is final only at the end of the call; the
//! reader takes an unfinished `data` chunk to run to the end of the file.

use std::time::{Duration, Instant};

use crate::audio::{ToneCheck, Wav};
use crate::baresip::Baresip;

/// A recorded sample above this (about -40 dBFS) is audio, not silence.
pub const NON_SILENT: i16 = 328;

/// The phone's newest recording, when it can be read.
pub fn newest_recording(phone: &Baresip) -> Option<Wav> {
    phone.recordings().last().and_then(|f| Wav::read(f).ok())
}

/// Waits for a second of audio that the phone records from now on and
/// checks it holds `expected_hz` (and not `other_hz`), moving on by a
/// second until it does; panics after `timeout`. Audio recorded earlier
/// does not count: a recording that stopped growing fails.
pub fn hears_now(
    phone: &Baresip,
    what: &str,
    expected_hz: u32,
    other_hz: u32,
    timeout: Duration,
) -> ToneCheck {
    let deadline = Instant::now() + timeout;
    let mut from = (
        phone.recordings().len(),
        newest_recording(phone).map_or(0, |w| w.mono().len()),
    );
    let mut last = None;
    loop {
        let files = phone.recordings().len();
        if files > from.0 {
            // A new recording (the stream was set up again): it all counts.
            from = (files, 0);
        }
        if let Some(wav) = newest_recording(phone) {
            let pcm = wav.mono();
            let second = wav.sample_rate as usize;
            if pcm.len() >= from.1 + second {
                let check = ToneCheck::measure(
                    &pcm[from.1..from.1 + second],
                    wav.sample_rate,
                    Duration::ZERO,
                    expected_hz,
                    other_hz,
                );
                if check.heard() {
                    return check;
                }
                from.1 += second;
                last = Some(check);
            }
        }
        if Instant::now() >= deadline {
            let sizes: Vec<String> = phone
                .recordings()
                .iter()
                .map(|f| {
                    format!(
                        "{} ({} bytes)",
                        f.display(),
                        std::fs::metadata(f).map_or(0, |m| m.len())
                    )
                })
                .collect();
            panic!(
                "{what}: the phone did not hear {expected_hz} Hz in fresh audio within {timeout:?}: \
                 {last:?}; recordings: {sizes:?}\n--- phone log ---\n{}",
                phone.log()
            );
        }
        // The recording grows by 20 ms frames.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the phone's recordings of the call hold `length` of audio
/// (at most `length` + `timeout`).
pub fn wait_recorded(phone: &Baresip, length: Duration, timeout: Duration) {
    let deadline = Instant::now() + length + timeout;
    loop {
        let recorded: Duration = phone
            .recordings()
            .iter()
            .filter_map(|f| Wav::read(f).ok())
            .map(|w| w.duration())
            .sum();
        if recorded >= length {
            return;
        }
        if Instant::now() >= deadline {
            let files: Vec<String> = phone
                .recordings()
                .iter()
                .map(|f| {
                    let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
                    format!("{} ({size} bytes)", f.display())
                })
                .collect();
            panic!(
                "the phone recorded {recorded:?} of the call, {length:?} expected: {files:?}\n{}",
                phone.log()
            );
        }
        // The recording grows by 20 ms frames.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// When the phone first heard something in its newest recording (beyond
/// the first `known` recordings), polled from `since`: the first non-silent
/// sample's time is now minus the audio recorded after it (the recording
/// grows in real time).
pub fn first_audio(phone: &Baresip, known: usize, since: Instant, timeout: Duration) -> Duration {
    let deadline = since + timeout;
    loop {
        let files = phone.recordings();
        if files.len() > known
            && let Some(file) = files.last()
            && let Ok(wav) = Wav::read(file)
        {
            let read_at = Instant::now();
            let pcm = wav.mono();
            if let Some(i) = pcm
                .iter()
                .position(|x| x.unsigned_abs() > NON_SILENT.unsigned_abs())
            {
                let after = Duration::from_secs_f64(
                    (pcm.len() - i) as f64 / f64::from(wav.sample_rate.max(1)),
                );
                return read_at
                    .saturating_duration_since(since)
                    .saturating_sub(after);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the phone heard nothing within {timeout:?}: recordings {:?} ({known} before the call)\n{}",
            phone.recordings(),
            phone.log()
        );
        // Fine-grained: this is a latency measurement.
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Removes the phone's recordings: the next call's may have the same
/// name (they are named to the second) and must not be mistaken for them.
pub fn forget_recordings(phone: &Baresip) {
    for file in phone.recordings() {
        std::fs::remove_file(&file).expect("remove a recording");
    }
}

/// A process's CPU time (user + system) so far, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the `(comm)`: state is field 3; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').expect("a stat line").1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}
