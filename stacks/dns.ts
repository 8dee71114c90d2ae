// TLS certificate validated through DNS in an existing Route53 zone, and the
// A/AAAA alias records that point the service name at the load balancer.
import { Construct, TerraformIterator, Token } from './cdktf.js';
import { AcmCertificate, AcmCertificateValidation, DataAwsRoute53Zone, Route53Record } from './providers.js';

export interface ValidatedCertificateProps {
  readonly hostedZoneName: string;
  readonly domainName: string;
}

export class ValidatedCertificate extends Construct {
  readonly zone: DataAwsRoute53Zone;
  readonly certificate: AcmCertificate;
  /** Depend on this (not on the certificate) so listeners wait until the certificate is issued. */
  readonly validation: AcmCertificateValidation;

  constructor(scope: Construct, id: string, props: ValidatedCertificateProps) {
    super(scope, id);
    this.zone = new DataAwsRoute53Zone(this, 'zone', { name: props.hostedZoneName, privateZone: false });
    this.certificate = new AcmCertificate(this, 'certificate', {
      domainName: props.domainName,
      validationMethod: 'DNS',
      lifecycle: { createBeforeDestroy: true },
    });

    // One record per validation option, keyed by domain name: the set is only known
    // after apply, so it is iterated in Terraform (for_each), never indexed.
    const options = TerraformIterator.fromComplexList(this.certificate.domainValidationOptions, 'domain_name');
    const records = new Route53Record(this, 'validation-record', {
      forEach: options,
      zoneId: this.zone.zoneId,
      name: options.getString('resource_record_name'),
      type: options.getString('resource_record_type'),
      records: [options.getString('resource_record_value')],
      ttl: 60,
      allowOverwrite: true,
    });

    this.validation = new AcmCertificateValidation(this, 'validation', {
      certificateArn: this.certificate.arn,
      validationRecordFqdns: Token.asList(TerraformIterator.fromResources(records).pluckProperty('fqdn')),
    });
  }
}

export interface AliasRecordsProps {
  readonly zoneId: string;
  readonly name: string;
  readonly targetDnsName: string;
  readonly targetZoneId: string;
}

/** A and AAAA alias records (the load balancer is dual-stack). */
export class AliasRecords extends Construct {
  constructor(scope: Construct, id: string, props: AliasRecordsProps) {
    super(scope, id);
    for (const type of ['A', 'AAAA']) {
      new Route53Record(this, type, {
        zoneId: props.zoneId,
        name: props.name,
        type,
        alias: { name: props.targetDnsName, zoneId: props.targetZoneId, evaluateTargetHealth: true },
      });
    }
  }
}
