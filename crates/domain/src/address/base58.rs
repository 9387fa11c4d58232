//! Base58 (Bitcoin alphabet) and Base58Check decoding.

use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

const fn decode_table() -> [u8; 128] {
    let mut t = [0xffu8; 128];
    let mut i = 0;
    while i < 58 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
}
static DECODE: [u8; 128] = decode_table();

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base58Error {
    /// A character outside the alphabet, with its position (0-based, in characters).
    InvalidCharacter(char, usize),
    /// Decodes, but the 4-byte checksum does not match.
    BadChecksum,
    /// Too short to hold a payload and a checksum.
    TooShort,
}

/// Decodes plain base58.
pub fn decode(s: &str) -> Result<Vec<u8>, Base58Error> {
    // Big-number base conversion in 32-bit limbs, least significant first, taking up to five
    // digits per pass (58^5 < 2^32). A base58 digit carries log2(58)/32 < 0.1831 limbs, so the
    // buffer is sized once; addresses fit on the stack.
    let needed = s.len() * 1831 / 10_000 + 2;
    let mut stack = [0u32; 16];
    let mut heap = Vec::new();
    let limbs: &mut [u32] = if needed <= stack.len() {
        &mut stack[..needed]
    } else {
        heap.resize(needed, 0);
        &mut heap[..]
    };
    let mut used = 0usize;
    let mut multiply_add = |scale: u64, add: u64| {
        let mut carry = add;
        for limb in limbs[..used].iter_mut() {
            let t = u64::from(*limb) * scale + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        if carry > 0 {
            limbs[used] = carry as u32;
            used += 1;
        }
    };
    let (mut chunk, mut scale) = (0u64, 1u64);
    for (pos, ch) in s.chars().enumerate() {
        let digit = if ch.is_ascii() { DECODE[ch as usize] } else { 0xff };
        if digit == 0xff {
            return Err(Base58Error::InvalidCharacter(ch, pos));
        }
        chunk = chunk * 58 + u64::from(digit);
        scale *= 58;
        if scale == 656_356_768 {
            multiply_add(scale, chunk);
            (chunk, scale) = (0, 1);
        }
    }
    if scale > 1 {
        multiply_add(scale, chunk);
    }
    let limbs = &limbs[..used];
    let zeros = s.bytes().take_while(|&b| b == b'1').count();
    let mut out = Vec::with_capacity(zeros + used * 4);
    out.extend(std::iter::repeat_n(0, zeros));
    let mut significant = false;
    for byte in limbs.iter().rev().flat_map(|l| l.to_be_bytes()) {
        significant |= byte != 0;
        if significant {
            out.push(byte);
        }
    }
    Ok(out)
}

/// Decodes base58 and checks the trailing double-SHA-256 checksum; returns the payload.
pub fn decode_check(s: &str) -> Result<Vec<u8>, Base58Error> {
    let mut bytes = decode(s)?;
    if bytes.len() < 5 {
        return Err(Base58Error::TooShort);
    }
    let split = bytes.len() - 4;
    let digest = Sha256::digest(Sha256::digest(&bytes[..split]));
    if digest[..4] != bytes[split..] {
        return Err(Base58Error::BadChecksum);
    }
    bytes.truncate(split);
    Ok(bytes)
}

/// Encodes bytes as base58.
pub fn encode(data: &[u8]) -> String {
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    let mut digits: Vec<u8> = Vec::with_capacity(data.len() * 138 / 100 + 1);
    for &byte in data {
        let mut carry = byte as u32;
        for d in digits.iter_mut() {
            carry += (*d as u32) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut s = String::with_capacity(zeros + digits.len());
    s.extend(std::iter::repeat_n('1', zeros));
    s.extend(digits.iter().rev().map(|&d| ALPHABET[d as usize] as char));
    s
}

/// Encodes a payload with its 4-byte checksum.
pub fn encode_check(payload: &[u8]) -> String {
    let digest = Sha256::digest(Sha256::digest(payload));
    let mut buf = payload.to_vec();
    buf.extend_from_slice(&digest[..4]);
    encode(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_leading_zeros() {
        for data in [&b""[..], &[0, 0, 1, 2, 3], b"hello world", &[0xff; 25], &[0x5a; 200]] {
            assert_eq!(decode(&encode(data)).unwrap(), data);
        }
        assert_eq!(encode(b"hello world"), "StV1DL6CwTryKyV");
        assert_eq!(decode_check(&encode_check(&[0, 1, 2])).unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn rejects_characters_outside_the_alphabet() {
        assert_eq!(decode("1O1"), Err(Base58Error::InvalidCharacter('O', 1)));
        assert_eq!(decode("0"), Err(Base58Error::InvalidCharacter('0', 0)));
        assert_eq!(decode("ab€"), Err(Base58Error::InvalidCharacter('€', 2)));
    }
}
