using System.Text.Json;

namespace Ccflare.Usage;

/// <summary>Top-level fields of a request body that history needs: <c>model</c> and <c>previous_response_id</c>.</summary>
internal readonly record struct RequestFields(string? Model, string? PreviousResponseId)
{
    /// <summary>Scans the top level of a JSON body with a reader (no document); never throws.</summary>
    public static RequestFields Read(ReadOnlySpan<byte> json)
    {
        if (json.IsEmpty)
        {
            return default;
        }
        string? model = null;
        string? previous = null;
        try
        {
            var reader = new Utf8JsonReader(json, isFinalBlock: true, new JsonReaderState(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip }));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isModel = reader.ValueTextEquals("model"u8);
                var isPrevious = !isModel && reader.ValueTextEquals("previous_response_id"u8);
                if (!reader.Read())
                {
                    break;
                }
                if (reader.TokenType == JsonTokenType.String && (isModel || isPrevious))
                {
                    if (isModel)
                    {
                        model = reader.GetString();
                    }
                    else
                    {
                        previous = reader.GetString();
                    }
                    if (model is not null && previous is not null)
                    {
                        break;
                    }
                    continue;
                }
                if (!reader.TrySkip())
                {
                    break;
                }
            }
        }
        catch (JsonException)
        {
        }
        return new RequestFields(model, previous);
    }
}
