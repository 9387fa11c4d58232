//! Bech32 (BIP-173) and Bech32m (BIP-350) decoding and encoding, and the segwit address rules.

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Lower-case character → 5-bit value, or -1.
const REVERSE: [i8; 128] = {
    let mut t = [-1i8; 128];
    let mut i = 0;
    while i < 32 {
        t[CHARSET[i] as usize] = i as i8;
        i += 1;
    }
    t
};
const BECH32_CONST: u32 = 1;
const BECH32M_CONST: u32 = 0x2bc8_30a3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Bech32,
    Bech32m,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bech32Error {
    MixedCase,
    /// No '1' separator, or an empty human-readable part.
    MissingSeparator,
    /// Character not allowed, with its position.
    InvalidCharacter(char, usize),
    TooLong(usize),
    /// The data part is shorter than the 6-character checksum.
    TooShort,
    BadChecksum,
}

fn polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ v as u32;
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// The human-readable part as the checksum covers it (lower-case, whatever case it was written in).
fn hrp_expand(hrp: &str) -> impl Iterator<Item = u8> + '_ {
    let lower = || hrp.bytes().map(|b| b.to_ascii_lowercase());
    lower().map(|b| b >> 5).chain(std::iter::once(0)).chain(lower().map(|b| b & 31))
}

/// A decoded bech32 string: the human-readable part as written (one case), and the 5-bit data
/// without the checksum.
pub struct Decoded<'a> {
    pub hrp: &'a str,
    pub data: Vec<u8>,
    pub variant: Variant,
}

pub fn decode(s: &str) -> Result<Decoded<'_>, Bech32Error> {
    if s.len() > 90 {
        return Err(Bech32Error::TooLong(s.len()));
    }
    let has_lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = s.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper {
        return Err(Bech32Error::MixedCase);
    }
    for (pos, ch) in s.chars().enumerate() {
        if !(ch.is_ascii() && (33..=126).contains(&(ch as u8))) {
            return Err(Bech32Error::InvalidCharacter(ch, pos));
        }
    }
    let sep = s.rfind('1').ok_or(Bech32Error::MissingSeparator)?;
    if sep == 0 {
        return Err(Bech32Error::MissingSeparator);
    }
    let (hrp, rest) = (&s[..sep], &s[sep + 1..]);
    if rest.len() < 6 {
        return Err(Bech32Error::TooShort);
    }
    let mut data = Vec::with_capacity(rest.len());
    for (i, b) in rest.bytes().map(|b| b.to_ascii_lowercase()).enumerate() {
        match REVERSE[b as usize & 0x7f] {
            v if v >= 0 && b < 128 => data.push(v as u8),
            _ => return Err(Bech32Error::InvalidCharacter(b as char, sep + 1 + i)),
        }
    }
    let variant = match polymod(hrp_expand(hrp).chain(data.iter().copied())) {
        BECH32_CONST => Variant::Bech32,
        BECH32M_CONST => Variant::Bech32m,
        _ => return Err(Bech32Error::BadChecksum),
    };
    data.truncate(data.len() - 6);
    Ok(Decoded { hrp, data, variant })
}

pub fn encode(hrp: &str, data: &[u8], variant: Variant) -> String {
    let constant = match variant {
        Variant::Bech32 => BECH32_CONST,
        Variant::Bech32m => BECH32M_CONST,
    };
    let pm = polymod(hrp_expand(hrp).chain(data.iter().copied()).chain([0u8; 6])) ^ constant;
    let mut s = String::with_capacity(hrp.len() + 1 + data.len() + 6);
    s.push_str(hrp);
    s.push('1');
    s.extend(data.iter().map(|&d| CHARSET[d as usize] as char));
    s.extend((0..6).map(|i| CHARSET[((pm >> (5 * (5 - i))) & 31) as usize] as char));
    s
}

/// Regroups bits; `pad` adds zero bits at the end (encoding), otherwise refuses more than 4
/// padding bits or non-zero padding (decoding). `None` means invalid padding.
pub fn convert_bits(data: &[u8], from: u32, to: u32, pad: bool) -> Option<Vec<u8>> {
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let maxv: u32 = (1 << to) - 1;
    let mut out = Vec::with_capacity(data.len() * from as usize / to as usize + 1);
    for &v in data {
        acc = (acc << from) | v as u32;
        bits += from;
        while bits >= to {
            bits -= to;
            out.push(((acc >> bits) & maxv) as u8);
        }
    }
    if pad {
        if bits > 0 {
            out.push(((acc << (to - bits)) & maxv) as u8);
        }
    } else if bits >= from || ((acc << (to - bits)) & maxv) != 0 {
        return None;
    }
    Some(out)
}

/// Encodes a segwit address (version 0 with bech32, 1+ with bech32m).
pub fn encode_segwit(hrp: &str, version: u8, program: &[u8]) -> String {
    let mut data = vec![version];
    data.extend(convert_bits(program, 8, 5, true).unwrap_or_default());
    let variant = if version == 0 { Variant::Bech32 } else { Variant::Bech32m };
    encode(hrp, &data, variant)
}
