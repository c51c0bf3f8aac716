"""Medical imaging: radiograph-style classification from image folders, manifests, MedMNIST and DICOM."""
