//! Real DICOM Part-10 files, written with dicom-object the way a modality writes them: a CT
//! study's instance with its patient, study and series attributes, the declared Specific
//! Character Set and (optionally) frames of pixel data.

use std::path::Path;

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

/// What goes into one file.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Specific Character Set terms (empty: the attribute is left out).
    pub charset: Vec<&'static str>,
    /// Patient's Name exactly as the writer should take it (see [`latin1`] for raw bytes).
    pub patient_name: String,
    /// Institution Name (LO).
    pub institution: String,
    /// SOP Instance UID.
    pub sop_uid: String,
    /// Study Instance UID (empty: left out).
    pub study_uid: String,
    /// Frames of 64x64 16-bit pixels (0: no pixel data).
    pub frames: usize,
}

impl Spec {
    /// A GB18030 CT instance of 张三^三 without pixel data.
    pub fn gb18030(sop_uid: &str) -> Self {
        Self {
            charset: vec!["GB18030"],
            patient_name: "张三^三".into(),
            institution: "某县人民医院".into(),
            sop_uid: sop_uid.into(),
            study_uid: "1.2.156.112605.14038010222575.20261102094127.2".into(),
            frames: 0,
        }
    }
}

/// Bytes carried through dicom-rs's default repertoire (ISO 8859-1, one char per byte): how a
/// test writes text in a charset dicom-rs does not encode, such as ISO 2022 with escapes.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

fn put(obj: &mut InMemDicomObject, tag: dicom_core::Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

/// Writes `spec` as an Explicit VR Little Endian Part-10 file at `path`.
pub fn write(path: &Path, spec: &Spec) {
    let mut obj = InMemDicomObject::new_empty();
    if !spec.charset.is_empty() {
        let terms: Vec<String> = spec.charset.iter().map(|t| (*t).to_owned()).collect();
        obj.put(DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::Strs(terms.into()),
        ));
    }
    put(
        &mut obj,
        tags::SOP_CLASS_UID,
        VR::UI,
        uids::CT_IMAGE_STORAGE,
    );
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, &spec.sop_uid);
    put(&mut obj, tags::STUDY_DATE, VR::DA, "20261102");
    put(&mut obj, tags::STUDY_TIME, VR::TM, "094127");
    put(&mut obj, tags::ACCESSION_NUMBER, VR::SH, "A2026110200017");
    put(&mut obj, tags::MODALITY, VR::CS, "CT");
    put(&mut obj, tags::INSTITUTION_NAME, VR::LO, &spec.institution);
    put(&mut obj, tags::STUDY_DESCRIPTION, VR::LO, "CT CHEST");
    put(&mut obj, tags::PATIENT_NAME, VR::PN, &spec.patient_name);
    put(&mut obj, tags::PATIENT_ID, VR::LO, "MRN0001");
    obj.put(DataElement::new(
        tags::OTHER_PATIENT_I_DS_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(vec![InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::PATIENT_ID,
                VR::LO,
                PrimitiveValue::from("210102199001011237"),
            ),
            DataElement::new(
                tags::TYPE_OF_PATIENT_ID,
                VR::CS,
                PrimitiveValue::from("TEXT"),
            ),
        ])]),
    ));
    put(&mut obj, tags::PATIENT_BIRTH_DATE, VR::DA, "19900101");
    put(&mut obj, tags::PATIENT_SEX, VR::CS, "M");
    put(&mut obj, tags::BODY_PART_EXAMINED, VR::CS, "CHEST");
    if !spec.study_uid.is_empty() {
        put(&mut obj, tags::STUDY_INSTANCE_UID, VR::UI, &spec.study_uid);
    }
    put(
        &mut obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        "1.2.156.112605.14038010222575.20261102094127.3",
    );
    put(&mut obj, tags::STUDY_ID, VR::SH, "17");
    put(&mut obj, tags::SERIES_NUMBER, VR::IS, "1");
    put(&mut obj, tags::INSTANCE_NUMBER, VR::IS, "1");
    if spec.frames > 0 {
        put(
            &mut obj,
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            &spec.frames.to_string(),
        );
        obj.put(DataElement::new(tags::ROWS, VR::US, dicom_value!(U16, 64)));
        obj.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            dicom_value!(U16, 64),
        ));
        obj.put(DataElement::new(
            tags::BITS_ALLOCATED,
            VR::US,
            dicom_value!(U16, 16),
        ));
        let pixels: Vec<u8> = (0..spec.frames * 64 * 64 * 2)
            .map(|i| (i % 251) as u8)
            .collect();
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U8(pixels.into()),
        ));
    }
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
                .media_storage_sop_instance_uid(&spec.sop_uid),
        )
        .unwrap();
    file.write_to_file(path).unwrap();
}
