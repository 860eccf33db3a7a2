-- Every photo read asks which incidents cite the photo (store/photo_citations.py): without
-- these, each read scanned all evidence and all steps.
CREATE INDEX incident_evidence_snapshot ON incident_evidence (snapshot) WHERE snapshot IS NOT NULL;
CREATE INDEX incident_steps_photo ON incident_steps (photo) WHERE photo IS NOT NULL;
