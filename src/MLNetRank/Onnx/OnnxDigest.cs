using System;
using System.Linq;
using System.Security.Cryptography;
using Google.Protobuf;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// A SHA-256 digest of an ONNX network, carried inside the network itself: the model's bytes followed by one more
    /// <c>metadata_props</c> entry (<c>ModelProto</c> field 14, key <see cref="Key"/>) whose value is the hex digest of
    /// every byte before it. ONNX Runtime and ML.NET ignore the entry; a zip rewritten with a valid CRC but a changed byte
    /// anywhere in the network no longer matches. Written by the one door to ML.NET (<c>OnnxTransformerFactory</c>), so
    /// every network MLNetRank saves carries it; verified by the request scorer and <c>SavedModelIntegrity.Verify</c>.
    /// </summary>
    internal static class OnnxDigest
    {
        /// <summary>The metadata key of the digest.</summary>
        public const string Key = "mlnetrank.sha256";

        /// <summary>The model with its digest appended (unchanged when it already carries a matching one).</summary>
        public static byte[] Seal(byte[] model)
        {
            if (model is null || model.Length == 0)
                throw new ArgumentException("An ONNX model is needed.", nameof(model));
            if (Check(model, "the ONNX model") is not null)
                return model;
            var digest = new Spec.StringStringEntryProto { Key = Key, Value = Convert.ToHexString(SHA256.HashData(model)) };
            var tail = new Spec.ModelProto { MetadataProps = { digest } }.ToByteArray();   // one metadata_props field
            var sealedModel = new byte[model.Length + tail.Length];
            model.CopyTo(sealedModel, 0);
            tail.CopyTo(sealedModel, model.Length);
            return sealedModel;
        }

        /// <summary>
        /// True when <paramref name="model"/> carries a digest and matches it; false when it carries none (a network written by
        /// other tools); <see cref="System.IO.InvalidDataException"/>, naming <paramref name="name"/>, when it does not match.
        /// </summary>
        public static bool Verify(byte[] model, string name) => Check(model, name) is not null;

        /// <summary>The digest when present and matching; null when absent; throws when present and not matching.</summary>
        private static string? Check(byte[] model, string name)
        {
            var parsed = OnnxModelProto.Parse(model);
            bool sealedByKey = parsed.MetadataProps.Any(e => e.Key == Key);
            var (start, number) = LastField(model);
            var (key, value) = number == MetadataProps ? Entry(model.AsSpan(start).ToArray()) : (null, null);
            string Damaged(string why) => $"ONNX network {name} is damaged: {why}. The model file was changed after it was saved (a bit flip on disk or in transfer, an edit); " +
                "restore it from a good copy or save the model again.";
            if (!sealedByKey)
            {
                // a digest entry whose key was damaged must not pass for a network without a digest
                if (key is not null && value is not null && key.Length == Key.Length && value.Length == 64)
                    throw new System.IO.InvalidDataException(Damaged($"its last metadata entry has the shape of the '{Key}' digest but the key '{key.ToStringUtf8()}'"));
                return null;
            }
            if (key is null || key.ToStringUtf8() != Key)
                throw new System.IO.InvalidDataException(Damaged($"its '{Key}' digest is not its last field"));
            string expected = value?.ToStringUtf8() ?? "";
            string actual = Convert.ToHexString(SHA256.HashData(model.AsSpan(0, start)));
            if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                throw new System.IO.InvalidDataException(Damaged($"its SHA-256 is {actual[..16]}..., the digest written at save is {(expected.Length >= 16 ? expected[..16] : expected)}..."));
            return expected;
        }

        private const int MetadataProps = Spec.ModelProto.MetadataPropsFieldNumber;

        /// <summary>Where the model's last top-level field starts, and its field number (the digest is a byte suffix).</summary>
        private static (int Start, int Number) LastField(byte[] model)
        {
            var input = new CodedInputStream(model);
            int start = model.Length, number = 0;
            while (true)
            {
                int position = (int)input.Position;
                uint tag = input.ReadTag();
                if (tag == 0)
                    return (start, number);
                start = position;
                number = WireFormat.GetTagFieldNumber(tag);
                input.SkipLastField();
            }
        }

        /// <summary>The raw key and value bytes of the metadata entry that <paramref name="field"/> (tag, length, entry) holds.</summary>
        private static (ByteString? Key, ByteString? Value) Entry(byte[] field)
        {
            var outer = new CodedInputStream(field);
            outer.ReadTag();
            var entry = new CodedInputStream(outer.ReadBytes().ToByteArray());
            ByteString? key = null, value = null;
            uint tag;
            while ((tag = entry.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case Spec.StringStringEntryProto.KeyFieldNumber: key = entry.ReadBytes(); break;
                    case Spec.StringStringEntryProto.ValueFieldNumber: value = entry.ReadBytes(); break;
                    default: entry.SkipLastField(); break;
                }
            }
            return (key, value);
        }
    }
}
