//! ICD-10 chapters (WHO ICD-10 / GB/T 14396, the same 22 chapters in 国临版 and 医保版 2.0): the
//! bounded label of patient outflow by disease. Pure.

/// A chapter: id (Roman numeral, the metric label), first and last three-character category,
/// and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chapter {
    /// `I` … `XXII`, or one of [`TCM`], [`OTHER`], [`NONE`].
    pub id: &'static str,
    /// First category of the block, e.g. `A00`.
    pub first: &'static str,
    /// Last category of the block, e.g. `B99`.
    pub last: &'static str,
    /// Chinese name (GB/T 14396).
    pub name: &'static str,
}

/// Traditional Chinese medicine disease and syndrome codes (医保版中医病证, system `TCM-NHSA`).
pub const TCM: &str = "TCM";
/// A diagnosis that is not ICD-10 shaped (e.g. an NHSA disease category, `NHSA-DISE`).
pub const OTHER: &str = "other";
/// No diagnosis sent with the settlement.
pub const NONE: &str = "none";

/// The 22 chapters, in order.
pub const CHAPTERS: &[Chapter] = &[
    ch("I", "A00", "B99", "某些传染病和寄生虫病"),
    ch("II", "C00", "D48", "肿瘤"),
    ch(
        "III",
        "D50",
        "D89",
        "血液及造血器官疾病和某些涉及免疫机制的疾患",
    ),
    ch("IV", "E00", "E90", "内分泌、营养和代谢疾病"),
    ch("V", "F00", "F99", "精神和行为障碍"),
    ch("VI", "G00", "G99", "神经系统疾病"),
    ch("VII", "H00", "H59", "眼和附器疾病"),
    ch("VIII", "H60", "H95", "耳和乳突疾病"),
    ch("IX", "I00", "I99", "循环系统疾病"),
    ch("X", "J00", "J99", "呼吸系统疾病"),
    ch("XI", "K00", "K93", "消化系统疾病"),
    ch("XII", "L00", "L99", "皮肤和皮下组织疾病"),
    ch("XIII", "M00", "M99", "肌肉骨骼系统和结缔组织疾病"),
    ch("XIV", "N00", "N99", "泌尿生殖系统疾病"),
    ch("XV", "O00", "O99", "妊娠、分娩和产褥期"),
    ch("XVI", "P00", "P96", "起源于围生期的某些情况"),
    ch("XVII", "Q00", "Q99", "先天性畸形、变形和染色体异常"),
    ch("XVIII", "R00", "R99", "症状、体征和临床与实验室异常所见"),
    ch("XIX", "S00", "T98", "损伤、中毒和外因的某些其他后果"),
    ch("XX", "V01", "Y98", "疾病和死亡的外因"),
    ch("XXI", "Z00", "Z99", "影响健康状态和与保健机构接触的因素"),
    ch("XXII", "U00", "U99", "用于特殊目的的编码"),
];

const fn ch(
    id: &'static str,
    first: &'static str,
    last: &'static str,
    name: &'static str,
) -> Chapter {
    Chapter {
        id,
        first,
        last,
        name,
    }
}

/// The name of a chapter id (the three extra buckets included).
pub fn name(id: &str) -> &'static str {
    match id {
        TCM => "中医病证",
        OTHER => "非ICD-10编码(病种等)",
        NONE => "未填诊断",
        _ => CHAPTERS.iter().find(|c| c.id == id).map_or("", |c| c.name),
    }
}

/// Every bucket id in display order: the 22 chapters, then TCM, other, none.
pub fn all_ids() -> impl Iterator<Item = &'static str> {
    CHAPTERS.iter().map(|c| c.id).chain([TCM, OTHER, NONE])
}

/// The bucket of a diagnosis `code` in `system`: its ICD-10 chapter when the code is ICD-10
/// shaped (a letter, two digits, then nothing or a dot: `J18.900`, `I10.x00`, as
/// `hub-settlement` decides it), [`TCM`] for `TCM-NHSA`, [`OTHER`] otherwise (`NHSA-DISE`
/// disease categories included). Chapter blocks compare the first three characters: `D48.1` is II,
/// `D50` III; the gaps (`D49`, `H96`…`H99`, `P97`…) fall into the chapter before them.
pub fn of(code: &str, system: &str) -> &'static str {
    match system {
        "TCM-NHSA" => return TCM,
        "NHSA-DISE" => return OTHER,
        _ => {}
    }
    let code = code.trim().to_ascii_uppercase();
    let bytes = code.as_bytes();
    let shaped = bytes.len() >= 3
        && bytes[0].is_ascii_uppercase()
        && bytes[1].is_ascii_digit()
        && bytes[2].is_ascii_digit()
        && (bytes.len() == 3 || bytes[3] == b'.');
    if !shaped {
        return OTHER;
    }
    let category = &code[..3];
    // The block starting last at or before the category (XXII, U00, is out of letter order).
    CHAPTERS
        .iter()
        .filter(|c| c.first <= category)
        .max_by_key(|c| c.first)
        .map_or(OTHER, |c| c.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_fall_in_their_chapters() {
        for (code, chapter) in [
            ("A09.900", "I"),
            ("B99", "I"),
            ("C34.900", "II"),
            ("D48.9", "II"),
            ("D50.0", "III"),
            ("E11.900", "IV"),
            ("H25.9", "VII"),
            ("H66.9", "VIII"),
            ("I10.x00", "IX"),
            ("I63.900", "IX"),
            ("J18.900", "X"),
            ("k35.8", "XI"),
            ("S72.000", "XIX"),
            ("T14.9", "XIX"),
            ("V89.2", "XX"),
            ("Y98", "XX"),
            ("Z51.1", "XXI"),
            ("U07.1", "XXII"),
        ] {
            assert_eq!(of(code, "ICD-10-NHSA-2.0"), chapter, "{code}");
        }
        assert_eq!(of("BNW010", "TCM-NHSA"), TCM);
        assert_eq!(of("M03900", "NHSA-DISE"), OTHER, "an NHSA disease category");
        assert_eq!(of("M03900", "ICD-10-NHSA-2.0"), OTHER, "not ICD-10 shaped");
        assert_eq!(of("", "ICD-10-NHSA-2.0"), OTHER);
        assert_eq!(all_ids().count(), 25);
        assert_eq!(name("X"), "呼吸系统疾病");
    }
}
