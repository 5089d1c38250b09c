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
            var entry = new ProtoWriter();
            entry.WriteString(OnnxFields.EntryKey, Key);
            entry.WriteString(OnnxFields.EntryValue, Convert.ToHexString(SHA256.HashData(model)));
            var field = new ProtoWriter();
            field.WriteMessage(OnnxFields.ModelMetadataProps, entry);
            var tail = field.ToArray();
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
            var fields = ProtoReader.Fields(model);
            int found = -1;
            string? value = null;
            for (int i = 0; i < fields.Count; i++)
            {
                var f = fields[i];
                if (f.Number != OnnxFields.ModelMetadataProps || f.WireType != WireFormat.WireType.LengthDelimited)
                    continue;
                var entry = ProtoReader.Fields(f.Bytes!);
                if (entry.FirstOrDefault(e => e.Number == OnnxFields.EntryKey).AsString() != Key)
                    continue;
                found = i;
                value = entry.FirstOrDefault(e => e.Number == OnnxFields.EntryValue).AsString();
            }
            string Damaged(string why) => $"ONNX network {name} is damaged: {why}. The model file was changed after it was saved (a bit flip on disk or in transfer, an edit); " +
                "restore it from a good copy or save the model again.";
            if (found < 0)
            {
                // a digest entry whose key was damaged must not pass for a network without a digest
                var tail = fields.Count > 0 ? fields[^1] : default;
                if (tail.Number == OnnxFields.ModelMetadataProps && tail.Bytes is not null)
                {
                    var entry = ProtoReader.Fields(tail.Bytes);
                    var k = entry.FirstOrDefault(e => e.Number == OnnxFields.EntryKey).Bytes;
                    var v = entry.FirstOrDefault(e => e.Number == OnnxFields.EntryValue).Bytes;
                    if (k is not null && v is not null && k.Length == Key.Length && v.Length == 64)
                        throw new System.IO.InvalidDataException(Damaged($"its last metadata entry has the shape of the '{Key}' digest but the key '{k.ToStringUtf8()}'"));
                }
                return null;
            }
            if (found != fields.Count - 1)
                throw new System.IO.InvalidDataException(Damaged($"its '{Key}' digest is not its last field"));
            var last = fields[found];
            int payload = last.Bytes!.Length;
            int size = CodedOutputStream.ComputeTagSize(OnnxFields.ModelMetadataProps) + CodedOutputStream.ComputeLengthSize(payload) + payload;
            if (size > model.Length)
                throw new System.IO.InvalidDataException(Damaged("its digest field is larger than the network"));
            string actual = Convert.ToHexString(SHA256.HashData(model.AsSpan(0, model.Length - size)));
            if (!string.Equals(actual, value, StringComparison.OrdinalIgnoreCase))
                throw new System.IO.InvalidDataException(Damaged($"its SHA-256 is {actual[..16]}..., the digest written at save is {(value is { Length: >= 16 } ? value[..16] : value)}..."));
            return value;
        }
    }
}
