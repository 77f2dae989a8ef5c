//! Random draws for the testbed (losses on the medium, a run's phase): fast and good enough
//! for a coin (xorshift64*), seeded from the clock.

use super::system;

pub struct XorShift(u64);

impl XorShift {
    pub fn seeded() -> Self {
        XorShift(system::monotonic_ns() | 1)
    }

    /// A number in [0, 1).
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_the_unit_interval_and_spread() {
        let mut random = XorShift::seeded();
        let draws: Vec<f64> = (0..1000).map(|_| random.next()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(draws.iter().any(|&x| x < 0.1) && draws.iter().any(|&x| x > 0.9));
    }
}
