import CGWFWModel
