"""Object-detection building blocks shared by the vision domains.

`shared.vision.boxes` holds numpy box utilities (format conversion, IoU,
validation); `shared.vision.centernet` holds the anchor-free CenterNet target
encoding, losses and serving-time decoding. Nothing here imports a domain.
"""
