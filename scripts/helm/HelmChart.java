import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.nio.file.Path;

/**
 * `helm lint --strict CHART` and `helm template NAME CHART [-f VALUES]...` through helm-java,
 * which runs Helm's own Go code: the chart checks need no helm binary.
 */
public class HelmChart {
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: lint CHART | template CHART [VALUES_FILE...]");
      System.exit(2);
    }
    Helm helm = new Helm(Path.of(args[1]));
    switch (args[0]) {
      case "lint" -> {
        LintResult result = helm.lint().strict().call();
        result.getMessages().forEach(System.out::println);
        System.out.println(result.isFailed() ? "lint: failed" : "lint: passed");
        System.exit(result.isFailed() ? 1 : 0);
      }
      case "template" -> {
        TemplateCommand template = helm.template().withName("shop").withNamespace("shop");
        for (int i = 2; i < args.length; i++) template = template.withValuesFile(Path.of(args[i]));
        System.out.print(template.call());
      }
      default -> {
        System.err.println("unknown command " + args[0]);
        System.exit(2);
      }
    }
  }
}
