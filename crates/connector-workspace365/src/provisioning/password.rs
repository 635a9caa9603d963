//! Strong random passwords for creates without a SCIM `password` (`password_policy =
//! "generate"`). Drawn from the thread RNG, a CSPRNG seeded from the OS.

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

use connector::secret::Secret;

const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
/// Symbols that survive JSON, shells and URL forms without escaping surprises.
const SYMBOLS: &[u8] = b"!#$%*+-=?@^_";

/// A password of `length` characters (at least 4) with at least one lower-case letter, one
/// upper-case letter, one digit and one symbol, so that any complexity rule is met.
pub fn generate(length: usize) -> Secret {
    let mut rng = rand::rng();
    let classes = [LOWER, UPPER, DIGITS, SYMBOLS];
    let all: Vec<u8> = classes.concat();
    let mut chars: Vec<u8> = classes
        .iter()
        .filter_map(|class| class.choose(&mut rng).copied())
        .collect();
    while chars.len() < length.max(classes.len()) {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    Secret::new(String::from_utf8_lossy(&chars).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_appears_and_passwords_differ() {
        for length in [4, 12, 24, 64] {
            let p = generate(length);
            let p = p.expose();
            assert_eq!(p.len(), length);
            for class in [LOWER, UPPER, DIGITS, SYMBOLS] {
                assert!(p.bytes().any(|b| class.contains(&b)), "{length}");
            }
        }
        assert_ne!(generate(24).expose(), generate(24).expose());
        assert_eq!(generate(1).expose().len(), 4);
    }
}
