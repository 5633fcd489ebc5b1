"""Request classifier: category model (scikit-learn) and keyword rules for type and urgency.

Modules: `preprocess` (Chinese text normalisation and segmentation), `model` (pipeline,
`Prediction`, versioned `save`/`load`), `training`, `evaluation`, `rules`, and `cli`
(`classifier_app`, mounted as `hotline classifier`).
"""
