using System.Text;
using Ccflare.Recording;

namespace Ccflare.Tests.Usage;

public sealed class PayloadMaskingTests
{
    [Fact]
    public void Credential_properties_are_masked_at_any_depth_and_other_values_kept()
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"m","api_key":"sk-live-123456789","nested":{"accessToken":"tok-abcdefghi","refresh-token":"r-1234567890","client_secret":"cs"},"max_tokens":5,"list":[{"password":"p"}]}""");

        var masked = Encoding.UTF8.GetString(PayloadMasking.Mask(body, []));

        Assert.DoesNotContain("sk-live-123456789", masked, StringComparison.Ordinal);
        Assert.DoesNotContain("tok-abcdefghi", masked, StringComparison.Ordinal);
        Assert.DoesNotContain("r-1234567890", masked, StringComparison.Ordinal);
        Assert.Contains("\"client_secret\":\"***\"", masked, StringComparison.Ordinal);
        Assert.Contains("\"password\":\"***\"", masked, StringComparison.Ordinal);
        Assert.Contains("\"max_tokens\":5", masked, StringComparison.Ordinal);
        Assert.Contains("\"model\":\"m\"", masked, StringComparison.Ordinal);
    }

    [Fact]
    public void Bodies_without_credentials_are_returned_untouched()
    {
        var body = Encoding.UTF8.GetBytes("{ \"model\" : \"m\", \"messages\": [] }");

        Assert.Same(body, PayloadMasking.Mask(body, ["sk-not-present-anywhere"]));
    }

    [Fact]
    public void Literal_account_secrets_are_scrubbed_from_any_text()
    {
        var body = Encoding.UTF8.GetBytes("data: echo sk-ant-account-secret and again sk-ant-account-secret\n\n");

        var masked = Encoding.UTF8.GetString(PayloadMasking.Mask(body, ["sk-ant-account-secret"]));

        Assert.Equal("data: echo *** and again ***\n\n", masked);
    }
}
