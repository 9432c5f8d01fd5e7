//! DICOM Part-10 files as the shared imaging centre's modalities write them into the imaging
//! connector's drop folder: one instance per study, metadata only (no pixel data), UTF-8
//! (`ISO_IR 192`), the patient's hospital id and resident ID number (Other Patient IDs), and
//! `SYNTHETIC hub-simulator` in Image Comments.

use std::path::{Path, PathBuf};

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use serde::{Deserialize, Serialize};

/// The attributes of one simulated instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Modality (CT, DX, US, MR).
    pub modality: String,
    /// SOP Instance UID.
    pub sop_uid: String,
    /// Study Instance UID (the one in the HL7 order and report).
    pub study_uid: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// Accession number.
    pub accession: String,
    /// Placer order number (the HL7 order's placer number, from the modality worklist).
    pub order_id: String,
    /// Study date `YYYYMMDD` and time `HHMMSS`, China time.
    pub study_date: String,
    /// Study time.
    pub study_time: String,
    /// Performing institution name.
    pub institution: String,
    /// Study description.
    pub description: String,
    /// Patient's Name `family^given`.
    pub patient_name: String,
    /// Patient ID (the patient's id at the ordering facility).
    pub patient_id: String,
    /// Resident ID number (Other Patient IDs).
    pub id_number: String,
    /// Birth date `YYYYMMDD`.
    pub birth_date: String,
    /// `M` or `F`.
    pub sex: String,
    /// Body part examined.
    pub body_part: String,
}

impl Instance {
    /// The SOP class of the modality's images.
    fn sop_class(&self) -> &'static str {
        match self.modality.as_str() {
            "CT" => uids::CT_IMAGE_STORAGE,
            "MR" => uids::MR_IMAGE_STORAGE,
            "US" => uids::ULTRASOUND_IMAGE_STORAGE,
            _ => uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
        }
    }

    /// The Part-10 file (Explicit VR Little Endian).
    ///
    /// # Errors
    /// The file meta group cannot be built.
    pub fn to_object(
        &self,
    ) -> Result<dicom_object::DefaultDicomObject, dicom_object::WithMetaError> {
        let mut obj = InMemDicomObject::new_empty();
        let mut put = |tag: Tag, vr: VR, value: &str| {
            obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
        };
        put(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
        put(tags::SOP_CLASS_UID, VR::UI, self.sop_class());
        put(tags::SOP_INSTANCE_UID, VR::UI, &self.sop_uid);
        put(tags::STUDY_DATE, VR::DA, &self.study_date);
        put(tags::STUDY_TIME, VR::TM, &self.study_time);
        put(tags::ACCESSION_NUMBER, VR::SH, &self.accession);
        put(
            tags::PLACER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
            VR::LO,
            &self.order_id,
        );
        put(tags::MODALITY, VR::CS, &self.modality);
        put(tags::INSTITUTION_NAME, VR::LO, &self.institution);
        put(tags::STUDY_DESCRIPTION, VR::LO, &self.description);
        put(tags::PATIENT_NAME, VR::PN, &self.patient_name);
        put(tags::PATIENT_ID, VR::LO, &self.patient_id);
        put(tags::PATIENT_BIRTH_DATE, VR::DA, &self.birth_date);
        put(tags::PATIENT_SEX, VR::CS, &self.sex);
        put(tags::BODY_PART_EXAMINED, VR::CS, &self.body_part);
        put(tags::STUDY_INSTANCE_UID, VR::UI, &self.study_uid);
        put(tags::SERIES_INSTANCE_UID, VR::UI, &self.series_uid);
        put(tags::STUDY_ID, VR::SH, "1");
        put(tags::SERIES_NUMBER, VR::IS, "1");
        put(tags::INSTANCE_NUMBER, VR::IS, "1");
        put(tags::IMAGE_COMMENTS, VR::LT, "SYNTHETIC hub-simulator");
        obj.put(DataElement::new(
            tags::OTHER_PATIENT_I_DS_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![InMemDicomObject::from_element_iter([
                DataElement::new(
                    tags::PATIENT_ID,
                    VR::LO,
                    PrimitiveValue::from(self.id_number.as_str()),
                ),
                DataElement::new(
                    tags::TYPE_OF_PATIENT_ID,
                    VR::CS,
                    PrimitiveValue::from("TEXT"),
                ),
            ])]),
        ));
        obj.with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .media_storage_sop_class_uid(self.sop_class())
                .media_storage_sop_instance_uid(&self.sop_uid),
        )
    }

    /// Writes the file into `<drop_dir>/incoming/` the way a careful modality does: as
    /// `<uid>.dcm.part`, renamed to `<uid>.dcm` once complete (the connector skips `.part`).
    ///
    /// # Errors
    /// The folder or file cannot be written.
    pub fn write_into(&self, drop_dir: &Path) -> std::io::Result<PathBuf> {
        let incoming = drop_dir.join("incoming");
        std::fs::create_dir_all(&incoming)?;
        let done = incoming.join(format!("{}.dcm", self.sop_uid));
        let part = incoming.join(format!("{}.dcm.part", self.sop_uid));
        let object = self.to_object().map_err(std::io::Error::other)?;
        object.write_to_file(&part).map_err(std::io::Error::other)?;
        std::fs::rename(&part, &done)?;
        Ok(done)
    }
}
