// Generates the TL codecs from @mtcute/tl's schema (filled in by the TL issue).
