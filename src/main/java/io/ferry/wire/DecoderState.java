package io.ferry.wire;

/**
 * Where a {@link StreamDecoder} is in its stream. The names appear in its "truncated" error
 * messages, so they are part of what a reader of a failed migration sees.
 */
enum DecoderState {
    /** magic and version */
    HEADER,
    /** 0x07, be32 length, machine type */
    CONFIGURATION,
    /** a top-level type byte and what it starts (section header, command, EOF) */
    SECTION,
    /** be64 RAM record words and their bodies, until EOS */
    RAM_RECORD,
    /** counted idstr + be64 length entries, until they add up to the announced total */
    RAM_BLOCK_LIST,
    /** 0x7E + be32 section id, closing a RAM or block section */
    FOOTER,
    /** be64 block-migration record words and their device names, until EOS */
    BLOCK_RECORD,
    /** the 1 MiB data of a DEVICE_BLOCK record, passed on as it arrives */
    BLOCK_DATA,
    /** a FULL section's payload and footer */
    DEVICE_PAYLOAD,
    /** passing over the bytes of a PACKAGED command, unread (see StreamListener#packaged) */
    PACKAGE,
    /** EOF seen; only a vmdesc may follow */
    AFTER_EOF,
    /** skipping the vmdesc JSON */
    VM_DESCRIPTION,
    /** nothing more may come */
    DONE,
    /** an error was thrown; the decoder is unusable */
    FAILED
}
