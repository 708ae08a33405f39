"""The four modes of the glasses (captions, translate, read, assistant), their prompts and the
controller that switches between them. Pure logic: no devices, no models, no clock."""
